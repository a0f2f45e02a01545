"""The playground's web page and the small JSON API it uses.

The page shows one chat per simulated person. Everything a person does goes through the Bot
API emulator exactly as a Telegram client's action would (a message, a button press), and
everything the bot does arrives there over HTTP, so the page shows the real bot at work.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Message

from playground.button_width import label_width, room
from playground.stripe import FakeStripe, WebhookAttempt
from playground.telegram import Call, FakeBotAPI
from playground.telegram.html import parse_html
from tgbot.broadcasts.report import summary_text
from tgbot.services import Services
from tgbot.settings import LANGUAGES
from tgbot.text.i18n import texts

MAX_NAME = 40
MAX_TEXT = 4096
LOG_SHOWN = 60
STATIC = files("playground.web").joinpath("static")
CONTENT_TYPES = {"js": "text/javascript", "css": "text/css", "html": "text/html"}


@dataclass
class People:
    """The simulated people: ordinary ones get ids from one range, admins from `ADMIN_IDS`."""

    admin_ids: list[int]
    people: dict[int, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(10_001))

    def add(self, name: str, language: str, admin: bool) -> dict[str, Any]:
        if admin:
            free = [i for i in self.admin_ids if i not in self.people]
            if not free:
                raise ValueError(f"at most {len(self.admin_ids)} admins in the playground")
            user_id = free[0]
        else:
            user_id = next(self._ids)
        person = {"id": user_id, "name": name, "language": language, "admin": admin}
        self.people[user_id] = person
        return person


def message_view(message: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """A message as the page draws it: Telegram HTML rebuilt from its entities, and buttons."""
    parsed = Message.de_json(message, None)
    html = parsed.text_html_urled if parsed.text else (parsed.caption_html_urled or "")
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {
        "id": message["message_id"],
        "from_bot": message.get("from", {}).get("id") == bot_id,
        "html": html,
        "photo": "photo" in message,
        "document": message.get("document", {}).get("file_name"),
        "edited": "edit_date" in message,
        "buttons": [
            [
                {
                    "text": button["text"],
                    "data": button.get("callback_data"),
                    "url": button.get("url"),
                    "too_wide": label_width(button["text"]) > room(len(row)),
                }
                for button in row
            ]
            for row in keyboard
        ],
    }


def webhook_view(attempt: WebhookAttempt) -> dict[str, Any]:
    """One automatic Stripe webhook: its event type and what became of it."""
    return {
        "type": attempt.event_type,
        "outcome": attempt.outcome,
        "status": attempt.status,
        "error": attempt.error,
        "resend": attempt.resend,
    }


def call_view(call: Call, violation: bool) -> dict[str, Any]:
    return {
        "method": call.method,
        "status": call.status,
        "description": call.description,
        "chat_id": call.params.get("chat_id"),
        "violation": violation,
        "dropped": call.dropped,
    }


def playground_routes(
    telegram: FakeBotAPI, stripe: FakeStripe, admin_ids: list[int]
) -> Callable[[Services], list[BaseRoute]]:
    """The page and its API, made once the bot's services exist."""
    people = People(admin_ids)

    def make(services: Services) -> list[BaseRoute]:
        async def page(request: Request) -> Response:
            return HTMLResponse(STATIC.joinpath("index.html").read_text("utf-8"))

        async def static(request: Request) -> Response:
            name = request.path_params["name"]
            kind = name.rsplit(".", 1)[-1]
            if name not in ("app.js", "style.css"):
                return Response("not found", status_code=404)
            body = STATIC.joinpath(name).read_text("utf-8")
            return Response(body, media_type=CONTENT_TYPES[kind])

        async def add_person(request: Request) -> Response:
            data = await _json(request)
            name = str(data.get("name", "")).strip()[:MAX_NAME]
            language = data.get("language")
            if not name or language not in LANGUAGES:
                return _problem("a person needs a name and one of " + ", ".join(LANGUAGES))
            try:
                person = people.add(name, language, bool(data.get("admin")))
            except ValueError as error:
                return _problem(str(error))
            user = telegram.make_user(person["id"], language_code=language, first_name=name)
            telegram.open_private_chat(user)
            return JSONResponse(person, status_code=201)

        async def send(request: Request) -> Response:
            person = people.people.get(int(request.path_params["user_id"]))
            text = str((await _json(request)).get("text", ""))
            if person is None or not text.strip() or len(text) > MAX_TEXT:
                return _problem("unknown person, or an empty or too long text")
            telegram.send_message(telegram.users[person["id"]], text)
            return JSONResponse({"ok": True})

        async def press(request: Request) -> Response:
            person = people.people.get(int(request.path_params["user_id"]))
            data = await _json(request)
            if person is None:
                return _problem("unknown person")
            try:
                telegram.press_button(
                    telegram.users[person["id"]],
                    {"chat": {"id": person["id"]}, "message_id": int(data.get("message_id", 0))},
                    str(data.get("data", "")),
                )
            except (AssertionError, TypeError, ValueError) as error:  # no such message/button
                return _problem(str(error))
            return JSONResponse({"ok": True})

        async def state(request: Request) -> Response:
            return JSONResponse(await _state(services, telegram, stripe, people))

        async def stripe_action(request: Request) -> Response:
            actions = {
                "drop_next_webhook": stripe.drop_next_webhook,
                "resend_last_webhook": stripe.resend_last_webhook,
                "refund_last_payment": stripe.refund_last_payment,
            }
            action = actions.get(request.path_params["action"])
            if action is None:
                return _problem("unknown action", status=404)
            try:
                result = action()
            except ValueError as error:
                return _problem(str(error))
            return JSONResponse({"ok": True, "result": str(result)})

        return [
            Route("/", page),
            Route("/playground", page),
            Route("/playground/static/{name}", static),
            Route("/playground/api/state", state),
            Route("/playground/api/people", add_person, methods=["POST"]),
            Route("/playground/api/people/{user_id:int}/send", send, methods=["POST"]),
            Route("/playground/api/people/{user_id:int}/press", press, methods=["POST"]),
            Route("/playground/api/stripe/{action}", stripe_action, methods=["POST"]),
        ]

    return make


async def _state(
    services: Services, telegram: FakeBotAPI, stripe: FakeStripe, people: People
) -> dict[str, Any]:
    t = texts("en")
    storage = services.storage
    progress = await services.payments.progress() if services.payments else None
    recent = await storage.broadcasts.recent(5)
    violations = {id(call) for call in telegram.violations}
    return {
        "people": [
            {
                **person,
                "commands": [
                    command["command"]
                    for command in telegram.commands.get(
                        (f"chat:{person['id']}", ""),
                        telegram.commands.get(("all_private_chats", person["language"]), []),
                    )
                ],
                "messages": [
                    message_view(message, telegram.bot_id)
                    for message in telegram.history(person["id"])
                ],
            }
            for person in people.people.values()
        ],
        "subscribers": await storage.broadcasts.audience(),
        "raised": t.money(progress.raised) if progress else None,
        "goal": t.money(progress.goal) if progress and progress.goal else None,
        "donations": progress.donations if progress else 0,
        "broadcasts": [parse_html(summary_text(t, summary))[0] for summary in recent],
        "webhooks": [webhook_view(attempt) for attempt in stripe.webhook_log[-10:]],
        "calls": [call_view(call, id(call) in violations) for call in telegram.calls[-LOG_SHOWN:]],
        "violations": len(telegram.violations),
    }


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _problem(detail: str, status: int = 400) -> Response:
    return JSONResponse({"ok": False, "error": detail}, status_code=status)
