"""What every ``lanes`` command gets: the profile, a client on it, and the output mode."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console, RenderableType

from lanes_client.aio import AsyncLanesClient
from lanes_client.cli import render
from lanes_client.cli.profiles import Profile, ProfileStore
from lanes_client.errors import ApiError, LanesClientError
from lanes_client.types import Tokens

T = TypeVar("T")


@dataclass
class Context:
    """What every command gets: the profile, where it is saved, and the output mode."""

    profile_name: str
    profile: Profile
    store: ProfileStore
    json_output: bool
    console: Console

    def client(self) -> AsyncLanesClient:
        """A client on the profile, saving tokens it refreshes."""

        def save(tokens: Tokens) -> None:
            self.profile.take(tokens)
            self.store.save(self.profile_name, self.profile)

        return AsyncLanesClient(
            self.profile.url,
            access_token=self.profile.access_token,
            refresh_token=self.profile.refresh_token,
            access_expires_at=self.profile.access_expires_at,
            on_tokens=save,
        )

    def call(self, operation: Callable[[AsyncLanesClient], Awaitable[T]]) -> T:
        """Run ``operation`` on a client of the profile; errors print and exit with 1."""

        async def body() -> T:
            async with self.client() as lanes:
                return await operation(lanes)

        try:
            return asyncio.run(body())
        except ApiError as exc:
            click.echo(f"error: {exc.code}: {exc.detail}", err=True)
            sys.exit(1)
        except LanesClientError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    def emit(self, line: str) -> None:
        """Print machine output as it is (no Rich markup)."""
        click.echo(line)

    def show(self, value: BaseModel | list[Any], readable: RenderableType) -> None:
        """Print ``value`` as JSON for scripts, or ``readable`` for people."""
        if self.json_output:
            self.emit(render.as_json(value))
        else:
            self.console.print(readable)


pass_context = click.make_pass_decorator(Context)
