"""The till's sync engine: pushes the outbox in prioritised batches, pulls the other tills' events back."""
