"""How a journey runs: the member workflow, its activities, the pure interpreter, and
routing events to runs."""
