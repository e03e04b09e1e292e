"""Lanes auth service: users, passwords, JWTs and the JWKS."""
