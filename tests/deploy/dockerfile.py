"""A small reader for the Dockerfile and .dockerignore: enough to check what they promise.

Not a full parser: instructions, line continuations, stages, and the
pattern rules Docker applies to the build context.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_INSTRUCTION = re.compile(r"^([A-Za-z]+)\s+(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case) and its arguments as written."""

    keyword: str
    arguments: str

    def words(self) -> list[str]:
        """The arguments split like a shell would."""
        return shlex.split(self.arguments)


@dataclass
class Stage:
    """A ``FROM`` and the instructions up to the next one."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """The stage's instructions with this keyword, in order."""
        return [i for i in self.instructions if i.keyword == keyword]


def read_instructions(path: Path) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        match = _INSTRUCTION.match(pending + line)
        if match is None:
            raise ValueError(f"cannot read Dockerfile line: {pending + line!r}")
        instructions.append(Instruction(match[1].upper(), " ".join(match[2].split())))
        pending = ""
    return instructions


def read_stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """The global ``ARG`` defaults and the build stages, in order."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in read_instructions(path):
        if instruction.keyword == "FROM":
            words = instruction.words()
            words = [w for w in words if not w.startswith("--")]
            base = _expand(words[0], args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            if instruction.keyword == "ARG":
                name, _, default = instruction.arguments.partition("=")
                args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return args, stages


def _expand(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), value)


def run_command(instruction: Instruction) -> list[str]:
    """A shell-form ``RUN`` as words, without its ``--mount``/``--network`` options."""
    words = instruction.words()
    while words and words[0].startswith("--"):
        words.pop(0)
    return words


def exec_form(instruction: Instruction) -> list[str]:
    """The JSON (exec) form of ``CMD``/``ENTRYPOINT``; fails on the shell form."""
    text = instruction.arguments
    if not text.startswith("["):
        raise ValueError(f"{instruction.keyword} is in shell form: {text}")
    return [str(word) for word in json.loads(text)]


def env_values(stage: Stage) -> dict[str, str]:
    """The ``ENV`` settings of a stage (``KEY=value`` form)."""
    values: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for word in instruction.words():
            key, _, value = word.partition("=")
            values[key] = value
    return values


def copy_sources(stage: Stage) -> list[str]:
    """The build-context paths a stage copies (``COPY`` without ``--from``)."""
    sources: list[str] = []
    for instruction in stage.all("COPY"):
        words = instruction.words()
        if any(w.startswith("--from") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        sources.extend(words[:-1])
    return sources


@dataclass(frozen=True)
class IgnoreRule:
    """One .dockerignore line: a pattern, and whether ``!`` re-includes what it matches."""

    pattern: re.Pattern[str]
    include: bool


def read_dockerignore(path: Path) -> list[IgnoreRule]:
    """The rules of a .dockerignore, in order (the last matching rule decides)."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        rules.append(IgnoreRule(re.compile(_glob_to_regex(pattern)), include))
    return rules


def _glob_to_regex(pattern: str) -> str:
    # Docker's matcher: `**` crosses folders, `*` and `?` do not.
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out) + "$"


def in_build_context(relative_path: str, rules: list[IgnoreRule]) -> bool:
    """Whether Docker sends this file to the builder.

    A rule matches a path when it matches the path or one of its parent
    folders (excluding a folder excludes what is inside it).
    """
    parts = relative_path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for rule in rules:
        if any(rule.pattern.match(c) for c in candidates):
            included = rule.include
    return included
