"""The simulated people of the playground, kept next to its database.

The bot's database outlives a restart, so the people it knows must too: otherwise a new
person would get the id, and with it the donations and subscriptions, of someone from an
earlier run. :class:`People` writes the list to a JSON file (``data/playground-people.json``
beside ``data/playground.sqlite3``) after every change and reads it at start; new ids
continue after the highest one ever given.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FIRST_ID = 10_001
"""Ordinary people's ids start here; admins take the bot's `ADMIN_IDS`."""
ANSWERS_KEPT = 20
"""Button presses per person whose pop-up answers the page can still show."""


@dataclass
class People:
    """The simulated people: ordinary ones get ids from one range, admins from `ADMIN_IDS`."""

    admin_ids: list[int]
    path: Path | None = None
    """Where the list is kept; ``None``: in memory only."""
    people: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = FIRST_ID
    presses: dict[int, deque[str]] = field(default_factory=dict)
    """The callback query ids of each person's latest button presses (not kept on disk)."""

    @classmethod
    def load(cls, admin_ids: list[int], path: Path | None) -> People:
        """The people kept at ``path``: none if it is unreadable, or missing (it is then
        written, with nobody in it)."""
        people = cls(admin_ids, path)
        if path is None:
            return people
        if not path.exists():
            people._save()  # from now on the database has its people beside it
            return people
        try:
            data = json.loads(path.read_text("utf-8"))
            for entry in data["people"]:
                person = {
                    "id": int(entry["id"]),
                    "name": str(entry["name"]),
                    "language": str(entry["language"]),
                    "admin": bool(entry["admin"]),
                }
                people.people[person["id"]] = person
            ordinary = [i for i in people.people if i not in admin_ids]
            people.next_id = max(int(data["next_id"]), FIRST_ID, *(i + 1 for i in ordinary))
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("Could not read %s (%s); starting without people", path, error)
            people.people.clear()
            people.next_id = FIRST_ID
        return people

    def add(self, name: str, language: str, admin: bool) -> dict[str, Any]:
        if admin:
            free = [i for i in self.admin_ids if i not in self.people]
            if not free:
                raise ValueError(f"at most {len(self.admin_ids)} admins in the playground")
            user_id = free[0]
        else:
            user_id = self.next_id
            self.next_id += 1
        person = {"id": user_id, "name": name, "language": language, "admin": admin}
        self.people[user_id] = person
        self._save()
        return person

    def pressed(self, user_id: int, query_id: str) -> None:
        """Remember a button press, so that the page can show the bot's answer to it."""
        self.presses.setdefault(user_id, deque(maxlen=ANSWERS_KEPT)).append(query_id)

    def _save(self) -> None:
        if self.path is None:
            return
        data = {"next_id": self.next_id, "people": list(self.people.values())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
        os.replace(temporary, self.path)
