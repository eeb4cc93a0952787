"""Request and answer bodies of the HTTP API (they make the OpenAPI document at ``/docs``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_K = 200
MAX_IDS = 500


class Item(BaseModel):
    item_id: str
    score: float
    title: str | None = None
    category: str | None = None
    price: float | None = None
    image_url: str | None = None


class ItemList(BaseModel):
    rec_id: str = Field(description="Identifies this answer; send it back with impression/click events")
    variant: str | None = Field(None, description="A/B variant of the visitor/user (null outside an experiment); "
                                                  "send it back with events")
    model: str = Field(description="name@version of the model that answered")
    items: list[Item]


class SessionList(ItemList):
    unknown_item_ids: list[str] = Field(default_factory=list,
                                        description="session items the model does not know (ignored)")


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_ids: list[str] = Field(max_length=MAX_IDS, description="items viewed/carted in this session, oldest first")
    k: int = Field(10, ge=1, le=MAX_K)
    exclude: list[str] = Field(default_factory=list, max_length=MAX_IDS)
    category: list[str] = Field(default_factory=list, max_length=50)
    in_stock: bool = True
    visitor_id: str | None = Field(None, min_length=1, max_length=200,
                                   description="the visitor's id: keeps the A/B variant stable")
    user_id: str | None = Field(None, min_length=1, max_length=200,
                                description="a logged-in user's id (assigned to a variant like a visitor)")


class ItemEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    in_stock: bool | None = None
    hidden: bool | None = None
    title: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=200)


class NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=200)
    image_path: str = Field(min_length=1, max_length=1000,
                            description="photo path relative to the server's --images-root")
    title: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=200)
    in_stock: bool | None = None


class ItemState(BaseModel):
    item_id: str
    in_stock: bool
    hidden: bool
    title: str | None = None
    category: str | None = None
    has_image: bool


class Reload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_dir: str | None = Field(None, description="folder of the model to serve (default: the current one)")
    variant: str | None = Field(None, max_length=64, description="the experiment variant to reload")


class Error(BaseModel):
    error: str
    detail: str | list | dict | None = None


ID = Field(None, min_length=1, max_length=200)


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["impression", "click", "cart", "purchase"]
    event_id: str = Field(min_length=1, max_length=100, description="unique per event: resends are dropped")
    item_id: str = Field(min_length=1, max_length=200)
    rec_id: str | None = Field(None, max_length=64, description="the rec_id of the answer that showed the item")
    variant: str | None = Field(None, max_length=64)
    user_id: str | None = ID
    visitor_id: str | None = ID
    position: int | None = Field(None, ge=0, le=10000, description="0-based position in the list shown")

    @model_validator(mode="after")
    def _who(self):
        if not self.user_id and not self.visitor_id:
            raise ValueError("an event needs a user_id or a visitor_id")
        return self


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[Event] = Field(min_length=1, max_length=1000)


class EventsStored(BaseModel):
    received: int
    stored: int = Field(description="newly stored (events whose event_id was already stored are dropped)")
