"""``lanes``: log in, enqueue, inspect, cancel, watch and replay from a terminal.

Every command takes ``--profile`` (saved logins, see `profiles`) and
``--json`` (machine-readable output, one JSON document or one per line).
Errors print the API's problem ``code`` and exit 1.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext

import click
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from lanes_client.aio import AsyncLanesClient
from lanes_client.cli import render
from lanes_client.cli.context import Context, pass_context
from lanes_client.cli.profiles import ProfileStore
from lanes_client.types import RequestState, RequestView, StatusEvent, StreamedStatus

BULK_CONCURRENCY = 8


@click.group()
@click.option("--profile", default="default", show_default=True, help="Saved login to use.")
@click.option("--url", envvar="LANES_URL", help="The gateway's URL (saved in the profile).")
@click.option("--json", "json_output", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def cli(ctx: click.Context, profile: str, url: str | None, json_output: bool) -> None:
    """Lanes: per-user FIFO request queues."""
    store = ProfileStore()
    loaded = store.load(profile)
    if url:
        loaded.url = url
    ctx.obj = Context(profile, loaded, store, json_output, Console())


@cli.command()
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True)
@click.option("--register", is_flag=True, help="Create the account first.")
@pass_context
def login(context: Context, username: str, password: str, register: bool) -> None:
    """Log in and save the tokens in the profile (0600)."""

    async def body(lanes: AsyncLanesClient) -> None:
        if register:
            await lanes.register(username, password)
        await lanes.login(username, password)

    context.call(body)
    context.store.save(context.profile_name, context.profile)
    if context.json_output:
        context.emit(json.dumps({"profile": context.profile_name, "url": context.profile.url}))
    else:
        context.console.print(f"Logged in to {context.profile.url} as [bold]{username}[/].")


@cli.command()
@click.argument("request_type")
@click.option("--payload", default="null", help="The payload, as JSON.")
@click.option("--count", default=1, show_default=True, type=click.IntRange(min=1))
@pass_context
def enqueue(context: Context, request_type: str, payload: str, count: int) -> None:
    """Enqueue TYPE with a JSON payload, COUNT times (a progress bar shows bulk enqueues)."""
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--payload") from exc

    async def body(lanes: AsyncLanesClient) -> list[str]:
        if count == 1:
            return [(await lanes.enqueue(request_type, value)).id]
        ids: list[str] = [""] * count
        slots = asyncio.Semaphore(BULK_CONCURRENCY)
        progress = Progress(
            *Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=Console(stderr=True), disable=context.json_output,
        )  # fmt: skip
        with progress:
            task = progress.add_task("enqueue", total=count)

            async def one(n: int) -> None:
                async with slots:
                    ids[n] = (await lanes.enqueue(request_type, value)).id
                progress.advance(task)

            await asyncio.gather(*(one(n) for n in range(count)))
        return ids

    ids = context.call(body)
    if context.json_output:
        context.emit(json.dumps({"ids": ids}))
    else:
        for request_id in ids:
            context.console.print(request_id)


@cli.command()
@click.argument("request_id")
@pass_context
def get(context: Context, request_id: str) -> None:
    """Show one request."""
    request = context.call(lambda lanes: lanes.get(request_id))
    context.show(request, render.request_detail(request))


@cli.command(name="ls")
@click.option("--state", type=click.Choice([s.value for s in RequestState]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@pass_context
def list_requests(context: Context, state: str | None, limit: int) -> None:
    """List your requests, newest first."""

    async def newest(lanes: AsyncLanesClient) -> list[RequestView]:
        found: list[RequestView] = []
        async for request in lanes.list(state, page_size=min(limit, 100)):
            found.append(request)
            if len(found) >= limit:
                break
        return found

    requests = context.call(newest)
    context.show(requests, render.request_table(requests))


@cli.command()
@click.argument("request_id")
@pass_context
def cancel(context: Context, request_id: str) -> None:
    """Cancel a queued request."""
    request = context.call(lambda lanes: lanes.cancel(request_id))
    context.show(request, f"{request.id} is {request.state.value}.")


@cli.command()
@pass_context
def queue(context: Context) -> None:
    """Your queue: counts per state, the oldest queued age and when queued work starts."""
    summary = context.call(lambda lanes: lanes.queue())
    context.show(summary, render.queue_table(summary))


@cli.command()
@click.argument("request_id", required=False)
@click.option("--until-idle", is_flag=True, help="Stop once nothing is queued or processing.")
@pass_context
def watch(context: Context, request_id: str | None, until_idle: bool) -> None:
    """Watch state changes live: one request until it ends, or all of yours."""

    async def body(lanes: AsyncLanesClient) -> None:
        latest: dict[str, StatusEvent] = {}
        unfinished: set[str] = set()
        if until_idle:
            if (await lanes.queue()).pending == 0:
                return
            # What must be seen finishing; bounded by the per-user quota.
            for state in (RequestState.QUEUED, RequestState.PROCESSING):
                unfinished |= {r.id async for r in lanes.list(state, page_size=100)}
        live = None if context.json_output else Live(render.watch_table(latest))

        def show(event: StatusEvent) -> None:
            latest[event.status.request_id] = event
            if event.status.state.is_terminal:
                unfinished.discard(event.status.request_id)
            else:
                unfinished.add(event.status.request_id)
            if live is None:
                context.emit(event.model_dump_json())
            else:
                live.update(render.watch_table(latest))

        with live or nullcontext():
            async for event in lanes.watch(request_id):
                show(event)
                if (
                    until_idle
                    and event.status.state.is_terminal
                    and (await lanes.queue()).pending == 0
                ):
                    # The store can be ahead of the stream (events follow writes):
                    # what finished but was not streamed yet is shown from the store.
                    for rid in sorted(unfinished):
                        show(stored_status(await lanes.get(rid)))
                    return

    context.call(body)


@cli.group()
def dlq() -> None:
    """Dead-lettered requests."""


@dlq.command()
@click.argument("request_ids", nargs=-1)
@pass_context
def replay(context: Context, request_ids: tuple[str, ...]) -> None:
    """Enqueue dead-lettered requests again: the IDs given, or all of yours."""

    async def body(lanes: AsyncLanesClient) -> list[dict[str, str]]:
        ids = list(request_ids)
        if not ids:
            ids = [r.id async for r in lanes.list(RequestState.DEAD_LETTERED)]
        return [{"id": i, "replayed_as": (await lanes.replay(i)).id} for i in ids]

    replays = context.call(body)
    if context.json_output:
        context.emit(json.dumps({"replayed": replays}))
    else:
        for pair in replays:
            context.console.print(f"{pair['id']} → {pair['replayed_as']}")
        context.console.print(f"{len(replays)} replayed.")


def stored_status(request: RequestView) -> StatusEvent:
    """A request read from the store, shown as a status event (no id: not from the stream)."""
    status = StreamedStatus(
        request_id=request.id,
        type=request.type,
        state=request.state,
        attempts=request.attempts,
        occurred_at=request.updated_at or request.finished_at or request.enqueued_at,
        enqueued_at=request.enqueued_at,
        started_at=request.started_at,
        finished_at=request.finished_at,
        error_code=request.error.code if request.error else None,
    )
    return StatusEvent(id=None, status=status)


def main() -> None:
    """Entry point of ``lanes``."""
    cli()
