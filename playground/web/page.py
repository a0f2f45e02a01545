"""The playground's web page and the small JSON API it uses.

The page shows one chat per simulated person. Everything a person does goes through the Bot
API emulator exactly as a Telegram client's action would (a message, a button press), and
everything the bot does arrives there over HTTP, so the page shows the real bot at work.
"""

from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Message

from playground.button_width import label_width, labels, overflows, room
from playground.stripe import FakeStripe, WebhookAttempt
from playground.telegram import Call, FakeBotAPI, UploadedFile
from playground.telegram.html import parse_html
from playground.web.composer import compose
from playground.web.paid import cancelled_page, paid_page
from playground.web.people import People
from tgbot.broadcasts.report import summary_text
from tgbot.services import Services
from tgbot.settings import LANGUAGES
from tgbot.text.i18n import texts

MAX_NAME = 40
MAX_PASTE = 65_536
"""Characters one send may carry; the composer splits them into messages of 4096."""
LOG_SHOWN = 60
STATIC = files("playground.web").joinpath("static")
CONTENT_TYPES = {
    "js": "text/javascript",
    "css": "text/css",
    "html": "text/html",
    "svg": "image/svg+xml",
}
STATIC_FILES = frozenset({"app.js", "style.css", "favicon.svg"})


def message_view(
    message: dict[str, Any], bot_id: int, uploads: Mapping[str, UploadedFile] | None = None
) -> dict[str, Any]:
    """A message as the page draws it: Telegram HTML rebuilt from its entities, and buttons.

    A document the bot uploaded (one of `uploads`, by file_id) gets the address the page
    downloads it from.
    """
    parsed = Message.de_json(message, None)
    html = parsed.text_html_urled if parsed.text else (parsed.caption_html_urled or "")
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    document = message.get("document", {})
    file_id = document.get("file_id")
    return {
        "id": message["message_id"],
        "from_bot": message.get("from", {}).get("id") == bot_id,
        "html": html,
        "photo": "photo" in message,
        "document": document.get("file_name"),
        "document_url": (
            f"/playground/api/files/{quote(file_id)}" if uploads and file_id in uploads else None
        ),
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
    """One Bot API call for the log; `too_wide` names the button labels a phone would wrap
    or cut (playground/button_width.py), which Telegram accepts but people cannot read."""
    return {
        "method": call.method,
        "status": call.status,
        "description": call.description,
        "chat_id": call.params.get("chat_id"),
        "violation": violation,
        "dropped": call.dropped,
        "too_wide": [str(found) for found in overflows(labels(call.params.get("reply_markup")))],
    }


def answers_view(
    presses: Mapping[int, Any], callback_answers: Mapping[str, dict[str, Any]], user_id: int
) -> list[dict[str, Any]]:
    """The pop-ups the bot answered a person's button presses with (answerCallbackQuery with
    a text): a toast that fades, or with `show_alert` a box to close, as Telegram shows them."""
    shown = []
    for query_id in presses.get(user_id, ()):
        answer = callback_answers.get(query_id)
        if answer and answer.get("text"):
            shown.append(
                {
                    "id": query_id,
                    "text": answer["text"],
                    "show_alert": bool(answer.get("show_alert")),
                }
            )
    return shown


def playground_routes(
    telegram: FakeBotAPI,
    stripe: FakeStripe,
    admin_ids: list[int],
    people_file: Path | None = None,
) -> Callable[[Services], list[BaseRoute]]:
    """The page and its API, made once the bot's services exist.

    The people kept in `people_file` (see :mod:`playground.web.people`) are back, each with
    their private chat; new ones are added to it.
    """
    people = People.load(admin_ids, people_file)
    for person in people.people.values():
        user = telegram.make_user(
            person["id"], language_code=person["language"], first_name=person["name"]
        )
        telegram.open_private_chat(user)

    def make(services: Services) -> list[BaseRoute]:
        async def page(request: Request) -> Response:
            return HTMLResponse(STATIC.joinpath("index.html").read_text("utf-8"))

        async def static(request: Request) -> Response:
            name = request.path_params["name"]
            kind = name.rsplit(".", 1)[-1]
            if name not in STATIC_FILES:
                return Response("not found", status_code=404)
            body = STATIC.joinpath(name).read_text("utf-8")
            return Response(body, media_type=CONTENT_TYPES[kind])

        async def favicon(request: Request) -> Response:
            return RedirectResponse("/playground/static/favicon.svg", status_code=301)

        async def paid(request: Request) -> Response:
            session = stripe.sessions.get(request.query_params.get("session", ""))
            return HTMLResponse(paid_page(session), headers={"Cache-Control": "no-store"})

        async def cancelled(request: Request) -> Response:
            return HTMLResponse(cancelled_page())

        async def download(request: Request) -> Response:
            upload = telegram.files.get(request.path_params["file_id"])
            if upload is None:
                return Response("not found", status_code=404)
            name = quote(upload.filename or "file")
            return Response(
                upload.data,
                media_type=upload.content_type or "application/octet-stream",
                headers={
                    "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                    "X-Content-Type-Options": "nosniff",
                },
            )

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
            """What the person typed, as Telegram Desktop sends it: Markdown as entities, and
            a text over 4096 characters as several messages."""
            person = people.people.get(int(request.path_params["user_id"]))
            text = str((await _json(request)).get("text", ""))
            if person is None or not text.strip() or len(text) > MAX_PASTE:
                return _problem("unknown person, or an empty or too long text")
            messages = compose(text)
            if not messages:
                return _problem("an empty text")
            for part, entities in messages:
                telegram.send_message(telegram.users[person["id"]], part, entities=entities)
            return JSONResponse({"ok": True, "messages": len(messages)})

        async def press(request: Request) -> Response:
            person = people.people.get(int(request.path_params["user_id"]))
            data = await _json(request)
            if person is None:
                return _problem("unknown person")
            try:
                update = telegram.press_button(
                    telegram.users[person["id"]],
                    {"chat": {"id": person["id"]}, "message_id": int(data.get("message_id", 0))},
                    str(data.get("data", "")),
                )
            except (AssertionError, TypeError, ValueError) as error:  # no such message/button
                return _problem(str(error))
            people.pressed(person["id"], update["callback_query"]["id"])
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
            Route("/favicon.ico", favicon),
            Route("/playground", page),
            Route("/playground/paid", paid),
            Route("/playground/cancelled", cancelled),
            Route("/playground/static/{name}", static),
            Route("/playground/api/files/{file_id}", download),
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
                    message_view(message, telegram.bot_id, telegram.files)
                    for message in telegram.history(person["id"])
                ],
                "answers": answers_view(people.presses, telegram.callback_answers, person["id"]),
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
