"""Getting one message to one member: rendering, consent, frequency caps, receipts, unsubscribe."""
