"""The benchmark scenarios: each has ``async def run(ctx) -> dict``."""
