"""The auth service: accounts, passwords, access tokens (JWT) and refresh sessions."""
