"""The store: tables, sessions, and loading rows into them."""
