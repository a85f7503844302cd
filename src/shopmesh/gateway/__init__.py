"""The API gateway: the platform's only public entry (routing, JWT, CORS, rate limits, proxy)."""
