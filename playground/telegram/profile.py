"""The bot's own profile and settings.

getMe, logOut and close; bot commands per scope and language, descriptions, short
descriptions and names per language, chat menu buttons; and getChat.
"""

from __future__ import annotations

import copy

from playground.telegram.errors import JSONDict, bad_request
from playground.telegram.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SHORT_DESCRIPTION_LENGTH,
    validate_commands,
    validate_language_code,
)
from playground.telegram.routing import Params, _bot_method

SIMPLE_COMMAND_SCOPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
)
CHAT_COMMAND_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})
MENU_BUTTON_TYPES = frozenset({"default", "commands", "web_app"})


class ProfileMixin:
    """The methods of :class:`FakeBotAPI` that read or change the bot's profile."""

    @_bot_method("getMe")
    def _get_me(self, params: Params) -> JSONDict:
        return dict(self.bot_user)

    @_bot_method("logOut")
    def _log_out(self, params: Params) -> bool:
        return True

    @_bot_method("close")
    def _close(self, params: Params) -> bool:
        return True

    # -- bot settings ------------------------------------------------------------------------

    def _scope_key(self, params: Params) -> str:
        scope = params.json("scope", "BotCommandScope")
        if scope is None:
            return "default"
        kind = scope.get("type") if isinstance(scope, dict) else None
        if kind in SIMPLE_COMMAND_SCOPES:
            return str(kind)
        if kind not in CHAT_COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        assert isinstance(scope, dict)
        chat = self._lookup_chat(scope.get("chat_id"))
        if chat is None:
            raise bad_request("chat not found")
        if kind != "chat_member":
            return f"{kind}:{chat['id']}"
        user_id = scope.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise bad_request("invalid user_id specified")
        return f"chat_member:{chat['id']}:{user_id}"

    def _language(self, params: Params) -> str:
        return validate_language_code(params.text("language_code"))

    @_bot_method("setMyCommands")
    def _set_my_commands(self, params: Params) -> bool:
        commands = validate_commands(params.json("commands"))
        key = (self._scope_key(params), self._language(params))
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    @_bot_method("getMyCommands")
    def _get_my_commands(self, params: Params) -> list[JSONDict]:
        key = (self._scope_key(params), self._language(params))
        return copy.deepcopy(self.commands.get(key, []))

    @_bot_method("deleteMyCommands")
    def _delete_my_commands(self, params: Params) -> bool:
        self.commands.pop((self._scope_key(params), self._language(params)), None)
        return True

    def _set_text_setting(
        self, params: Params, store: dict[str, str], name: str, limit: int
    ) -> bool:
        value = params.text(name, "") or ""
        language = self._language(params)
        if len(value) > limit:
            raise bad_request(f"{name.replace('_', ' ')} is too long")
        if value:
            store[language] = value
        else:
            store.pop(language, None)
        return True

    def _get_text_setting(self, params: Params, store: dict[str, str], default: str) -> str:
        language = self._language(params)
        return store.get(language, store.get("", default))

    @_bot_method("setMyDescription")
    def _set_my_description(self, params: Params) -> bool:
        return self._set_text_setting(
            params, self.descriptions, "description", MAX_DESCRIPTION_LENGTH
        )

    @_bot_method("getMyDescription")
    def _get_my_description(self, params: Params) -> JSONDict:
        return {"description": self._get_text_setting(params, self.descriptions, "")}

    @_bot_method("setMyShortDescription")
    def _set_my_short_description(self, params: Params) -> bool:
        return self._set_text_setting(
            params, self.short_descriptions, "short_description", MAX_SHORT_DESCRIPTION_LENGTH
        )

    @_bot_method("getMyShortDescription")
    def _get_my_short_description(self, params: Params) -> JSONDict:
        short = self._get_text_setting(params, self.short_descriptions, "")
        return {"short_description": short}

    @_bot_method("setMyName")
    def _set_my_name(self, params: Params) -> bool:
        return self._set_text_setting(params, self.names, "name", MAX_NAME_LENGTH)

    @_bot_method("getMyName")
    def _get_my_name(self, params: Params) -> JSONDict:
        return {"name": self._get_text_setting(params, self.names, self.bot_user["first_name"])}

    @_bot_method("setChatMenuButton")
    def _set_chat_menu_button(self, params: Params) -> bool:
        chat_id = self._chat(params, sending=False)["id"] if params.has("chat_id") else None
        button = params.json("menu_button", "MenuButton") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in MENU_BUTTON_TYPES:
            raise bad_request("can't parse MenuButton JSON object")
        self.menu_buttons[chat_id] = button
        return True

    @_bot_method("getChatMenuButton")
    def _get_chat_menu_button(self, params: Params) -> JSONDict:
        chat_id = self._chat(params, sending=False)["id"] if params.has("chat_id") else None
        default = self.menu_buttons.get(None, {"type": "commands"})
        return copy.deepcopy(self.menu_buttons.get(chat_id, default))

    @_bot_method("getChat")
    def _get_chat(self, params: Params) -> JSONDict:
        chat = self._chat(params, sending=False)
        gifts = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }
