"""Lanes processor: runs every user's requests in order, many users at once."""
