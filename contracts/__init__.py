"""One home for the messages that cross service boundaries.

Every event and command that travels over RabbitMQ is a frozen pydantic model here,
versioned, with additive changes only. Services and the gateway import these; nobody
copies a schema by hand.
"""
