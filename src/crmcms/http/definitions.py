"""The loaded definitions, read-only: dictionaries and the whole catalog."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter

from crmcms.http.replies import PROBLEMS, SESSION
from crmcms.http.schemas import DictionaryItemView, DictionaryView
from crmcms.http.services import Acting, Needs
from crmcms.model import Dictionary
from crmcms.serialization import dump

__all__ = ["DefinitionsController"]


def _dictionary_view(d: Dictionary) -> DictionaryView:
    items = [DictionaryItemView(i.code, i.name) for i in d.items if i.active]
    return DictionaryView(d.code, d.name, d.kind.value, items)


class DefinitionsController(Controller):
    path = "/"
    tags = ["definitions"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @get("/dictionaries", responses=PROBLEMS, sync_to_thread=False, summary="Dictionaries")
    def dictionaries(self, principal: Acting, services: Needs) -> list[DictionaryView]:
        return [_dictionary_view(d) for d in services.engine.catalog.dictionaries if d.active]

    @get(
        "/dictionaries/{code:str}",
        responses=PROBLEMS,
        sync_to_thread=False,
        summary="A dictionary and its active items",
    )
    def dictionary(
        self,
        code: Annotated[str, Parameter(min_length=1, max_length=200)],
        principal: Acting,
        services: Needs,
    ) -> DictionaryView:
        return _dictionary_view(services.engine.catalog.dictionary(code))

    @get(
        "/definitions",
        responses=PROBLEMS,
        sync_to_thread=False,
        summary="The loaded definitions as a crmcms document (type Catalog)",
    )
    def definitions(self, principal: Acting, services: Needs) -> dict[str, Any]:
        return dump(services.engine.catalog)
