"""The operator's console from the command line: ``shopmesh dlq ...`` and ``shopmesh trace``,
speaking to every service's operations API (``kit.operations``) through the gateway."""
