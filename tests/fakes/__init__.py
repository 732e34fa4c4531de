"""In-memory fakes of the services' adapters, for unit tests of their handlers."""
