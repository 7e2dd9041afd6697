"""The seeded synthetic world: domains, entity tables with invented names, units.

Every entity has a name no model has seen, so answers can only come from the tools. The world is
plain JSON (`{table: {entity name: {field: value}}}`); generated tools read and write it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["number", "category", "ref"]

UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {"celsius": (1.0, 0.0), "fahrenheit": (1.8, 32.0)},
    "length": {"meters": (1.0, 0.0), "feet": (3.28084, 0.0)},
    "area": {"square_kilometers": (1.0, 0.0), "square_miles": (0.386102, 0.0)},
    "speed": {"kmh": (1.0, 0.0), "mph": (0.621371, 0.0)},
    "distance": {"kilometers": (1.0, 0.0), "miles": (0.621371, 0.0)},
}
UNIT_WORDS = {
    "celsius": "degrees Celsius",
    "fahrenheit": "degrees Fahrenheit",
    "meters": "meters",
    "feet": "feet",
    "square_kilometers": "square kilometers",
    "square_miles": "square miles",
    "kmh": "km/h",
    "mph": "miles per hour",
    "kilometers": "kilometers",
    "miles": "miles",
}


def convert(value: float, dimension: str, unit: str) -> float:
    """From the dimension's base unit (the first one listed) into `unit`, rounded as tools round."""
    factor, offset = UNITS[dimension][unit]
    return round(value * factor + offset, 2)


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: FieldKind
    phrase: str
    low: float = 0
    high: float = 0
    decimals: int = 0
    choices: tuple[str, ...] = ()
    target: str = ""
    dimension: str = ""


@dataclass(frozen=True)
class EntityType:
    table: str
    noun: str
    domain: str
    count: int
    name_style: str
    fields: tuple[FieldDef, ...]
    keyed_by: str = ""
    plural: str = ""

    def field(self, name: str) -> FieldDef:
        return next(f for f in self.fields if f.name == name)

    @property
    def plural_noun(self) -> str:
        return self.plural or self.noun + "s"


def num(name: str, phrase: str, low: float, high: float, decimals: int = 0, dimension: str = "") -> FieldDef:
    return FieldDef(name, "number", phrase, low, high, decimals, dimension=dimension)


def ref(name: str, phrase: str, target: str) -> FieldDef:
    return FieldDef(name, "ref", phrase, target=target)


def cat(name: str, phrase: str, *choices: str) -> FieldDef:
    return FieldDef(name, "category", phrase, choices=choices)


ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType("currencies", "currency", "finance", 8, "code3", (num("rate_to_usd", "exchange rate to US dollars", 0.05, 5, 4),), plural="currencies"),
    EntityType("countries", "country", "geography", 12, "place", (
        num("population", "population", 1_000_000, 200_000_000),
        num("area", "area", 10_000, 3_000_000, dimension="area"),
        ref("currency", "currency", "currencies"),
        ref("capital", "capital city", "cities"),
    ), plural="countries"),
    EntityType("cities", "city", "geography", 30, "place", (
        ref("country", "country", "countries"),
        num("population", "population", 50_000, 5_000_000),
        num("elevation", "elevation", 0, 3000, dimension="length"),
        num("latitude", "latitude", -60, 70, 4),
        num("longitude", "longitude", -170, 170, 4),
    ), plural="cities"),
    EntityType("weather", "weather report", "weather", 0, "", (
        num("temperature", "current temperature", -10, 38, 1, dimension="temperature"),
        num("humidity", "relative humidity (percent)", 10, 100),
        num("wind_speed", "wind speed", 0, 90, 1, dimension="speed"),
        cat("condition", "sky condition", "sunny", "cloudy", "rainy", "snowy", "foggy"),
    ), keyed_by="cities"),
    EntityType("companies", "company", "commerce", 12, "company", (
        ref("headquarters", "headquarters city", "cities"),
        num("employees", "number of employees", 20, 90_000),
        num("founded", "founding year", 1890, 2022),
    ), plural="companies"),
    EntityType("users", "customer", "commerce", 24, "person", (
        ref("home_city", "home city", "cities"),
        cat("tier", "membership tier", "bronze", "silver", "gold", "platinum"),
        num("age", "age", 18, 90),
    )),
    EntityType("products", "product", "commerce", 30, "product", (
        ref("maker", "manufacturer", "companies"),
        cat("category", "category", "kitchen", "garden", "audio", "outdoor", "office", "toys"),
        num("price", "price in US dollars", 3, 900, 2),
        num("stock", "units in stock", 0, 400),
    )),
    EntityType("orders", "order", "commerce", 30, "order", (
        ref("customer", "customer", "users"),
        ref("product", "product", "products"),
        num("quantity", "quantity", 1, 9),
        cat("status", "status", "pending", "shipped", "delivered", "returned"),
    )),
    EntityType("hotels", "hotel", "travel", 20, "hotel", (
        ref("city", "city", "cities"),
        num("stars", "star rating", 1, 5),
        num("nightly_rate", "nightly rate in US dollars", 40, 700, 2),
        num("rooms_left", "number of free rooms", 0, 60),
    )),
    EntityType("flights", "flight", "travel", 20, "flight", (
        ref("origin", "departure city", "cities"),
        ref("destination", "arrival city", "cities"),
        num("fare", "fare in US dollars", 60, 1500, 2),
        num("seats_left", "number of free seats", 0, 180),
    )),
    EntityType("accounts", "bank account", "finance", 20, "account", (
        ref("owner", "owner", "users"),
        ref("currency", "currency", "currencies"),
        num("balance", "balance", 0, 50_000, 2),
    )),
    EntityType("events", "event", "calendar", 20, "event", (
        ref("organizer", "organizer", "users"),
        ref("venue_city", "host city", "cities"),
        num("duration", "duration in minutes", 15, 480),
        num("attendees", "number of attendees", 2, 5000),
    )),
)
TYPES: dict[str, EntityType] = {entity.table: entity for entity in ENTITY_TYPES}
DOMAINS: tuple[str, ...] = ("geography", "commerce", "travel", "finance", "weather", "calendar", "math")

ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "k", "l", "m", "n", "p", "qu", "r", "s", "t", "tr", "v", "z", "th", "sh")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "y")
CODAS = ("", "", "n", "r", "l", "s", "x", "th", "m")
PRODUCT_NOUNS = ("Kettle", "Lamp", "Speaker", "Trowel", "Tent", "Stapler", "Blender", "Headset", "Lantern", "Puzzle", "Desk", "Mixer")
COMPANY_SUFFIXES = ("Works", "Labs", "Industries", "Group", "Systems", "Co")
EVENT_KINDS = ("Summit", "Workshop", "Gala", "Meetup", "Forum", "Expo")


def invented_word(rng: random.Random, syllables: int) -> str:
    word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(CODAS)
    return word.capitalize()


def invented_name(rng: random.Random, style: str) -> str:
    if style == "place":
        return invented_word(rng, rng.randint(2, 3))
    if style == "person":
        return f"{invented_word(rng, 2)} {invented_word(rng, rng.randint(2, 3))}"
    if style == "company":
        return f"{invented_word(rng, 2)} {rng.choice(COMPANY_SUFFIXES)}"
    if style == "product":
        return f"{invented_word(rng, 2)} {rng.choice(PRODUCT_NOUNS)}"
    if style == "hotel":
        return f"Hotel {invented_word(rng, 2)}"
    if style == "event":
        return f"{invented_word(rng, 2)} {rng.choice(EVENT_KINDS)}"
    if style == "code3":
        return "".join(rng.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(3))
    prefix = {"order": "ORD", "account": "ACC", "flight": "".join(rng.choice("BCDFGHJKLMNPRSTVWXZ") for _ in range(2))}[style]
    return f"{prefix}-{rng.randint(1000, 9999)}"


def field_value(rng: random.Random, definition: FieldDef) -> Any:
    if definition.kind == "category":
        return rng.choice(definition.choices)
    if definition.decimals:
        return round(rng.uniform(definition.low, definition.high), definition.decimals)
    return rng.randint(int(definition.low), int(definition.high))


@dataclass
class World:
    """The initial state, plus indexes the generator uses to sample questions."""

    data: dict[str, dict[str, dict[str, Any]]]
    names: dict[str, list[str]] = field(default_factory=dict)

    def row(self, table: str, name: str) -> dict[str, Any]:
        return self.data[table][name]


def build_world(seed: int, scale: float = 1.0) -> World:
    """Same seed, same world. `scale` multiplies the entity counts."""
    rng = random.Random(f"world:{seed}")
    taken: set[str] = set()
    data: dict[str, dict[str, dict[str, Any]]] = {}
    names: dict[str, list[str]] = {}
    for entity in ENTITY_TYPES:
        if entity.keyed_by:
            continue
        count = max(3, round(entity.count * scale))
        table: list[str] = []
        while len(table) < count:
            name = invented_name(rng, entity.name_style)
            if name.casefold() not in taken:
                taken.add(name.casefold())
                table.append(name)
        names[entity.table] = table
    for entity in ENTITY_TYPES:
        keys = names[entity.keyed_by] if entity.keyed_by else names[entity.table]
        rows: dict[str, dict[str, Any]] = {}
        for index, key in enumerate(keys):
            row: dict[str, Any] = {}
            for definition in entity.fields:
                if definition.kind == "ref":
                    targets = names[definition.target]
                    row[definition.name] = targets[index % len(targets)] if entity.table == "cities" else rng.choice(targets)
                else:
                    row[definition.name] = field_value(rng, definition)
            rows[key] = row
        data[entity.table] = rows
    for country, row in data["countries"].items():
        own_cities = [city for city, city_row in data["cities"].items() if city_row["country"] == country]
        row["capital"] = rng.choice(own_cities)
    for table in ("bookings", "transfers"):
        data[table] = {}
    return World(data=data, names=names)
