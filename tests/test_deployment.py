"""The operator's deployment path, checked without Docker, systemd, Caddy or network.

Dockerfile, .dockerignore, deploy/compose.yaml, deploy/Caddyfile, deploy/appeal-bot.service
and requirements.lock are read as text; the image's command is run the way the image runs
it, in this checkout's venv, against the Telegram emulator.
"""

import asyncio
import configparser
import fnmatch
import importlib.metadata
import json
import re
import shlex
import signal
import sys
import tomllib
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path, PurePosixPath

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import EMERGENCY, TOKEN
from tests.test_process import bot_env, free_port
from tgbot.__main__ import EXIT_CONFIG
from tgbot.runtime.web import health_routes, stripe_route, telegram_route
from tgbot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
TIMEOUT = 30.0
WEBHOOKS = {"/telegram/webhook", "/stripe/webhook"}
DEV_ONLY = {"pytest", "pytest-asyncio", "playwright", "pillow", "ruff", "hypothesis"}
DEV_ONLY |= {"import-linter", "setuptools"}


# --- Caddyfile ------------------------------------------------------------------------------


@dataclass
class Directive:
    tokens: list[str]
    block: list["Directive"] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.tokens[0] if self.tokens else ""


def parse_caddyfile(text: str) -> list[Directive]:
    """Directives and their `{ }` blocks, one per line, comments dropped (what ours uses)."""
    top: list[Directive] = []
    stack = [top]
    for line in text.splitlines():
        tokens = line.split()
        comment = next((i for i, token in enumerate(tokens) if token.startswith("#")), None)
        tokens = tokens[:comment]
        if not tokens:
            continue
        if tokens == ["}"]:
            stack.pop()
            assert stack, "unbalanced } in the Caddyfile"
            continue
        opens = tokens[-1] == "{"
        directive = Directive(tokens[:-1] if opens else tokens)
        stack[-1].append(directive)
        if opens:
            stack.append(directive.block)
    assert len(stack) == 1, "unclosed { in the Caddyfile"
    return top


def matcher_conditions(matcher: Directive) -> dict[str, list[str]]:
    """`@name path /a /b` or `@name { path /a /b; method POST }` as {"path": [...], ...}."""
    lines = [matcher.tokens[1:]] if len(matcher.tokens) > 1 else [d.tokens for d in matcher.block]
    conditions: dict[str, list[str]] = {}
    for name, *values in lines:
        assert name not in conditions, f"{matcher.name}: {name} given twice"
        conditions[name] = values
    return conditions


@dataclass
class Site:
    address: str
    proxied: dict[str, str]  # path -> upstream
    methods: dict[str, list[str]]  # path -> methods allowed through
    fallback: list[Directive]


def caddy_site() -> Site:
    directives = parse_caddyfile((DEPLOY / "Caddyfile").read_text())
    sites = [d for d in directives if d.tokens]  # a global options block has no tokens
    assert len(sites) == 1, "the Caddyfile serves one site"
    (site,) = sites
    matchers = {d.name: d for d in site.block if d.name.startswith("@")}
    proxied: dict[str, str] = {}
    methods: dict[str, list[str]] = {}
    fallback: list[Directive] = []
    for directive in site.block:
        if directive.name.startswith("@"):
            continue
        # Only handle blocks at the site level: a bare reverse_proxy would expose every path.
        assert directive.name == "handle", f"unexpected site-level directive {directive.tokens}"
        if len(directive.tokens) == 1:
            fallback = directive.block
            continue
        (matcher,) = directive.tokens[1:]
        conditions = matcher_conditions(matchers[matcher])
        assert set(conditions) <= {"path", "method"}, conditions
        assert [d.name for d in directive.block] == ["reverse_proxy"], directive.block
        (upstream,) = directive.block[0].tokens[1:]
        for path in conditions["path"]:
            assert "*" not in path, f"{path} would expose everything under it"
            assert path not in proxied
            proxied[path] = upstream
            methods[path] = conditions.get("method", [])
    return Site(" ".join(site.tokens), proxied, methods, fallback)


def test_caddy_exposes_exactly_the_two_webhooks_to_the_bot():
    site = caddy_site()
    assert site.address == "{$DOMAIN}"  # automatic HTTPS for the operator's domain
    assert set(site.proxied) == WEBHOOKS
    compose_bot = compose()["services"]["bot"]
    assert set(site.proxied.values()) == {f"bot:{compose_bot['environment']['PORT']}"}
    assert [d.tokens for d in site.fallback] == [["respond", "404"]]


def test_the_proxied_paths_are_the_bots_webhook_routes_and_never_its_health():
    routes = [telegram_route(None, "secret"), stripe_route(None, None)]  # type: ignore[arg-type]
    assert {route.path for route in routes} == set(caddy_site().proxied)
    for route in routes:
        allowed = caddy_site().methods[route.path]
        assert not allowed or set(allowed) <= route.methods
    health = {route.path for route in health_routes(None)}  # type: ignore[arg-type]
    assert health == {"/healthz", "/readyz"}
    assert not health & set(caddy_site().proxied)


# --- compose.yaml ---------------------------------------------------------------------------


def parse_yaml_subset(text: str) -> dict:
    """Block mappings, and sequences of scalars: all compose.yaml uses (no PyYAML here)."""
    lines: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.strip():
            assert "\t" not in line[: len(line) - len(line.lstrip())], "tab indentation"
            lines.append((len(line) - len(line.lstrip()), line.strip()))

    def scalar(value: str) -> str | bool:
        value = value.strip()
        if value in ("true", "false"):
            return value == "true"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            return value[1:-1]
        return value

    def block(i: int, indent: int) -> tuple[dict | list, int]:
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(scalar(lines[i][1][2:]))
                i += 1
            return items, i
        mapping: dict = {}
        while i < len(lines) and lines[i][0] == indent:
            key, colon, value = lines[i][1].partition(":")
            assert colon, f"not a mapping key: {lines[i][1]}"
            assert key not in mapping, f"{key} given twice"
            i += 1
            nested = i < len(lines) and (
                lines[i][0] > indent or (lines[i][0] == indent and lines[i][1].startswith("- "))
            )
            if value.strip():
                mapping[key] = scalar(value)
            elif nested:
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
        return mapping, i

    parsed, end = block(0, 0)
    assert end == len(lines), f"could not read compose.yaml from: {lines[end][1]}"
    assert isinstance(parsed, dict)
    return parsed


def compose() -> dict:
    return parse_yaml_subset((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_the_bot_unpublished_on_a_volume_with_the_env_file():
    spec = compose()
    services = spec["services"]
    assert set(services) == {"bot", "caddy"}
    bot = services["bot"]
    assert "ports" not in bot  # reachable only through Caddy, on the compose network
    assert (DEPLOY / bot["build"]["context"] / "Dockerfile").is_file()
    assert bot["env_file"] in (".env", [".env"])
    assert bot["restart"] == "unless-stopped"
    (volume,) = [v for v in bot["volumes"] if v.split(":")[1] == "/data"]
    assert volume.split(":")[0] in spec["volumes"]  # named, so it outlives the container
    environment = bot["environment"]
    assert environment["MODE"] == "webhook"
    assert environment["HOST"] == "0.0.0.0"  # noqa: S104 (inside the container's network)
    assert PurePosixPath(environment["DATABASE_PATH"]).parent == PurePosixPath("/data")
    assert re.fullmatch(
        r"https://\$\{DOMAIN(:\?[^}]*)?\}/telegram/webhook", environment["WEBHOOK_URL"]
    )
    assert "WEBHOOK_SECRET" not in environment  # a secret: deploy/.env only


def test_only_caddy_publishes_ports_and_it_reads_the_caddyfile():
    caddy = compose()["services"]["caddy"]
    assert {port.split("/")[0] for port in caddy["ports"]} == {"80:80", "443:443"}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert caddy["environment"]["DOMAIN"].startswith("${DOMAIN")
    assert caddy["restart"] == "unless-stopped"


# --- systemd --------------------------------------------------------------------------------


def systemd_unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  (keys are case-sensitive)
    unit.read_string((DEPLOY / "appeal-bot.service").read_text())
    return unit


def test_the_systemd_unit_runs_the_venvs_bot_unprivileged_and_hardened():
    service = systemd_unit()["Service"]
    home = PurePosixPath(service["WorkingDirectory"])
    assert home == PurePosixPath("/srv/appeal-bot")
    assert shlex.split(service["ExecStart"]) == [str(home / ".venv/bin/python"), "-m", "tgbot"]
    assert service["User"] == "appeal-bot"
    assert service["EnvironmentFile"] == str(home / ".env")
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == str(EXIT_CONFIG)  # a bad setting: no loop
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    # The one writable folder is where the default DATABASE_PATH puts the database.
    default_database = Settings.model_fields["database_path"].default
    assert service["ReadWritePaths"].split() == [str(home / default_database.parent)]
    assert systemd_unit()["Install"]["WantedBy"] == "multi-user.target"


# --- Dockerfile -----------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]]

    def all(self, keyword: str) -> list[str]:
        return [args for word, args in self.instructions if word == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in stage {self.name or self.base}"
        return found[-1]

    def env(self) -> dict[str, str]:
        pairs = [pair for args in self.all("ENV") for pair in shlex.split(args)]
        return dict(pair.split("=", 1) for pair in pairs)


def dockerfile_stages() -> list[Stage]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base, *alias = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], rest).split()
            stages.append(Stage(base, alias[1] if alias else None, []))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


def exec_form(args: str) -> list[str]:
    command = json.loads(args)
    assert isinstance(command, list), "exec form, so SIGTERM reaches python, not a shell"
    return command


def healthcheck_command(stage: Stage) -> list[str]:
    options, cmd, command = stage.last("HEALTHCHECK").partition("CMD ")
    assert cmd, "HEALTHCHECK must run a command"
    assert "--interval" in options
    return exec_form(command)


def test_the_image_is_slim_multistage_non_root_and_lean():
    *builders, final = dockerfile_stages()
    assert builders, "a build stage makes the venv; the final stage only copies it"
    assert {stage.base for stage in [*builders, final]} == {"python:3.11-slim"}
    build_runs = " ".join(run for stage in builders for run in stage.all("RUN"))
    assert re.search(r"pip .*install .*-c requirements\.lock \.", build_runs)
    assert "[dev]" not in build_runs
    assert not any("pip" in run and "install" in run for run in final.all("RUN"))
    copied = [args.split() for args in final.all("COPY")]
    assert any(args[0] == f"--from={builders[-1].name}" for args in copied)
    user = final.last("USER").split(":")[0]
    assert user not in ("root", "0")
    env = final.env()
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 (the container's own interface)
    assert PurePosixPath(env["DATABASE_PATH"]).parent == PurePosixPath("/data")
    assert "/data" in json.loads(final.last("VOLUME"))
    assert final.last("EXPOSE") == env["PORT"]
    assert exec_form(final.last("CMD")) == ["python", "-m", "tgbot"]
    probe = healthcheck_command(final)
    assert probe[:2] == ["python", "-c"]
    assert "urllib" in probe[2]
    assert "/healthz" in probe[2]
    assert "PORT" in probe[2]


def test_the_build_context_leaves_out_secrets_data_and_development_files():
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(fnmatch.fnmatch(path, p.removeprefix("**/")) for p in patterns)

    for path in (".env", ".venv", "data", "tests", "bench", "playground", "docs", ".git"):
        assert ignored(path), path
    assert ignored("deploy")  # its .env holds the secrets
    *builders, _ = dockerfile_stages()
    for stage in builders:
        for args in stage.all("COPY"):
            *sources, _ = args.split()
            for source in sources:
                assert not ignored(source.rstrip("/")), f"{source} is copied but ignored"


# --- the image's command, run as the image runs it --------------------------------------------


async def healthy(port: int) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(int(TIMEOUT / 0.1)):
            try:
                response = await http.get(f"http://127.0.0.1:{port}/healthz")
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            assert response.status_code == HTTPStatus.OK
            return
    pytest.fail("/healthz never answered")


async def run_probe(command: list[str], env: dict[str, str]) -> int:
    """The HEALTHCHECK command; `python` is this venv's, as /opt/venv's is in the image."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return await asyncio.wait_for(process.wait(), TIMEOUT)


@pytest.mark.parametrize("how", ["docker run", "compose"])
async def test_the_images_command_starts_reports_healthy_and_stops_cleanly(tmp_path, bot_api, how):
    *_, final = dockerfile_stages()
    image_env = final.env()
    volume = tmp_path / "volume"  # stands in for /data
    workdir = tmp_path / "app"  # the image's empty WORKDIR: no .env to read
    workdir.mkdir()
    port = free_port()
    env = bot_env(tmp_path)
    env |= {key: value for key, value in image_env.items() if key != "PATH"}
    if how == "compose":
        settings = compose()["services"]["bot"]["environment"]
        domain = "bot.example"
        env |= {key: str(value) for key, value in settings.items()}
        env["WEBHOOK_URL"] = re.sub(r"\$\{DOMAIN[^}]*\}", domain, env["WEBHOOK_URL"])
        env["WEBHOOK_SECRET"] = "deploy_test_secret_0123456789abcdef"
    database = volume / PurePosixPath(env["DATABASE_PATH"]).relative_to("/data")
    env["DATABASE_PATH"] = str(database)
    env |= {  # the minimal settings an operator must give, and the emulator's address
        "BOT_TOKEN": TOKEN,
        "EMERGENCY_CONTACT_TEXT": EMERGENCY,
        "TELEGRAM_API_URL": bot_api.root_url,
        "PORT": str(port),
    }
    command = exec_form(final.last("CMD"))
    assert command[0] == "python"
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await healthy(port)
        assert await run_probe(healthcheck_command(final), env) == 0
        if how == "compose":
            await bot_api.wait_for_call("setWebhook", timeout=TIMEOUT)
            assert bot_api.webhook_url == f"https://{domain}/telegram/webhook"
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "appeal-bot stopped" in log
    assert "Traceback" not in log
    assert TOKEN not in log
    assert database.is_file()  # on the volume, not in the working directory
    assert list(workdir.iterdir()) == []
    assert await run_probe(healthcheck_command(final), env) != 0  # and Docker would notice


# --- requirements.lock ----------------------------------------------------------------------


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        assert match, f"not an exact pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"{name} pinned twice"
        pins[name] = match[2]
    return pins


def runtime_requirements() -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(spec) for spec in pyproject["project"]["dependencies"]]


def installed_closure(roots: list[Requirement]) -> set[str]:
    """Every distribution the runtime requirements pull in, as installed here, by markers
    evaluated for this interpreter (Python 3.11 on Linux, like the image)."""
    seen: set[str] = set()
    todo = [(requirement, "") for requirement in roots]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        wanted = sorted(requirement.extras) or [""]
        key = {f"{name}[{extra}]" for extra in wanted}
        if key <= seen:
            continue
        seen |= key | {name}
        requires = importlib.metadata.distribution(name).requires or []
        for spec in requires:
            todo += [(Requirement(spec), extra) for extra in wanted]
    return {entry for entry in seen if "[" not in entry}


def test_the_lock_pins_every_runtime_dependency_within_pyproject():
    pins = locked()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a runtime dependency but not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}"
        )


def test_the_lock_is_exactly_the_runtime_closure_and_holds_no_dev_tools():
    pins = set(locked())
    closure = installed_closure(runtime_requirements())
    assert pins == closure, (
        "requirements.lock drifted from pyproject.toml's dependencies; regenerate it "
        f"(see its header). Missing: {sorted(closure - pins)}, extra: {sorted(pins - closure)}"
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev = {
        canonicalize_name(Requirement(s).name)
        for s in pyproject["project"]["optional-dependencies"]["dev"]
    }
    assert not pins & (dev - closure), "a dev-only package is in requirements.lock"
    assert not pins & {canonicalize_name(name) for name in DEV_ONLY}
    assert "appeal-bot" not in pins
