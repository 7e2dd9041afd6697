"""Stage 1, scenario decomposition: sample a task of a given structure over the world, as sub-questions
with a dependency structure, the calls that answer each, and the values each call must surface.
Queries are phrased by small grammars: several phrasings per capability and per way of joining."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from envgen.drafts import Draft, DraftCall, DraftStep
from envgen.models import Answer, Split
from envgen.tools import ToolSpec
from envgen.world import ENTITY_TYPES, TYPES, UNIT_WORDS, UNITS, World, convert

LOOKUP_FORMS = (
    "What is the {phrase} of {subject}{unit}?",
    "Tell me the {phrase} of {subject}{unit}.",
    "Could you look up the {phrase} of {subject}{unit}?",
    "I need the {phrase} of {subject}{unit}.",
    "Find out the {phrase} of {subject}{unit}.",
)
PARALLEL_JOINS = (
    "{a} Also, {b}",
    "I have two questions. First: {a} Second: {b}",
    "{a} And separately: {b}",
    "Please answer both: (1) {a} (2) {b}",
)
PARALLEL_LISTS = ("I have {count} questions. {numbered}", "Please answer all {count}: {numbered}", "{numbered}")
COUNT_WORDS = {3: "three", 4: "four", 5: "five"}
CHAIN_STEPWISE = (
    "Start from {start}: {steps}. What is {final}{unit}?",
    "Take {start}, then follow {steps}. Tell me {final}{unit}.",
)
NO_TOOL_FORMS = ("What is {a} {op} {b}?", "Compute {a} {op} {b}.", "Quick arithmetic: {a} {op} {b} equals what?")
OPERATIONS: dict[str, Callable[[int, int], int]] = {"plus": lambda a, b: a + b, "minus": lambda a, b: a - b, "times": lambda a, b: a * b}


def subject(table: str, name: str) -> str:
    entity = TYPES[table]
    if entity.keyed_by:
        return f"the weather in {name}"
    return f"the {entity.noun} {name}"


def unit_text(unit: str | None) -> str:
    return f" in {UNIT_WORDS[unit]}" if unit else ""


class Sampler:
    """Draws entities, fields and phrasings for one task from its own seeded RNG."""

    def __init__(self, world: World, domains: list[str], rng: random.Random, level: int) -> None:
        self.world = world
        self.rng = rng
        self.level = level
        self.tables = [e.table for e in ENTITY_TYPES if e.domain in domains]

    def entity(self, table: str) -> str:
        return self.rng.choice(sorted(self.world.data[table]))

    def value_fields(self, table: str) -> list[str]:
        return [f.name for f in TYPES[table].fields if f.kind != "ref" and f.name not in ("latitude", "longitude")]

    def numeric_fields(self, table: str) -> list[str]:
        return [f.name for f in TYPES[table].fields if f.kind == "number" and f.name not in ("latitude", "longitude")]

    def ref_fields(self, table: str) -> list[str]:
        return [f.name for f in TYPES[table].fields if f.kind == "ref" and TYPES[f.target].domain in self.domains_of_tables()]

    def domains_of_tables(self) -> set[str]:
        return {TYPES[t].domain for t in self.tables}

    def unit_for(self, table: str, field: str) -> str | None:
        """From level 2 on, a measured value is sometimes asked for in a non-base unit."""
        dimension = TYPES[table].field(field).dimension
        if self.level < 2 or not dimension or self.rng.random() < 0.5:
            return None
        return self.rng.choice(list(UNITS[dimension])[1:])

    def lookup(self, table: str, field: str, name: str, unit: str | None = None) -> DraftCall:
        value = self.world.row(table, name)[field]
        args: dict[str, Any] = {"table": table, "entity": name, "field": field}
        if unit:
            value = convert(value, TYPES[table].field(field).dimension, unit)
            args["unit"] = unit
        spec = ToolSpec(kind="lookup", tables=(table,), fields=(field,), unit_param=unit is not None)
        return DraftCall(spec=spec, args=args, surfaces=[value])

    def question(self, table: str, field: str, name: str, unit: str | None) -> str:
        form = self.rng.choice(LOOKUP_FORMS)
        return form.format(phrase=TYPES[table].field(field).phrase, subject=subject(table, name), unit=unit_text(unit))

    def simple_lookup(self) -> tuple[DraftStep, Any, str]:
        table = self.rng.choice(self.tables)
        field = self.rng.choice(self.value_fields(table))
        name = self.entity(table)
        unit = self.unit_for(table, field)
        call = self.lookup(table, field, name, unit)
        kind = "number" if TYPES[table].field(field).kind == "number" else "entity"
        return DraftStep(id="s1", question=self.question(table, field, name, unit), calls=[call]), call.surfaces[0], kind

    def chain(self, hops: int, prefix: str) -> tuple[list[DraftStep], Any, str, str]:
        """A multi-hop chain: hops-1 reference lookups, then a value lookup on where they lead."""
        for _ in range(200):
            table = self.rng.choice([t for t in self.tables if not TYPES[t].keyed_by])
            path: list[tuple[str, str]] = []
            current = table
            visited = {table}
            for _ in range(hops - 1):
                refs = [f for f in self.ref_fields(current) if TYPES[current].field(f).target not in visited]
                if not refs:
                    break
                field = self.rng.choice(refs)
                path.append((current, field))
                current = TYPES[current].field(field).target
                visited.add(current)
            if len(path) == hops - 1:
                break
        else:
            raise ValueError(f"no {hops}-hop chain exists over the configured domains")
        final_table = current
        if current == "cities" and "weather" in self.tables and self.rng.random() < 0.4:
            final_table = "weather"
        start = self.entity(table)
        steps: list[DraftStep] = []
        name = start
        described = subject(table, start)
        hop_words: list[str] = []
        for number, (hop_table, field) in enumerate(path, 1):
            call = self.lookup(hop_table, field, name)
            phrase = TYPES[hop_table].field(field).phrase
            steps.append(
                DraftStep(
                    id=f"{prefix}{number}",
                    question=f"What is the {phrase} of {subject(hop_table, name)}?",
                    depends_on=[steps[-1].id] if steps else [],
                    calls=[call],
                )
            )
            described = f"the {phrase} of {described}"
            hop_words.append(f"its {phrase}")
            name = call.surfaces[0]
        final_field = self.rng.choice(self.value_fields(final_table))
        unit = self.unit_for(final_table, final_field)
        call = self.lookup(final_table, final_field, name, unit)
        final_phrase = TYPES[final_table].field(final_field).phrase
        steps.append(
            DraftStep(
                id=f"{prefix}{len(path) + 1}",
                question=self.question(final_table, final_field, name, unit),
                depends_on=[steps[-1].id],
                calls=[call],
            )
        )
        if final_table == "weather":
            described = f"the weather in {described}"
        if self.rng.random() < 0.5:
            query = self.rng.choice(LOOKUP_FORMS).format(phrase=final_phrase, subject=described, unit=unit_text(unit))
        else:
            query = self.rng.choice(CHAIN_STEPWISE).format(
                start=subject(table, start), steps=", then ".join(hop_words), final=f"the {final_phrase} there" if final_table == "weather" else f"its {final_phrase}", unit=unit_text(unit)
            )
        kind = "number" if TYPES[final_table].field(final_field).kind == "number" else "entity"
        return steps, call.surfaces[0], kind, query

    def hops(self) -> int:
        return self.rng.randint(2, min(5, self.level + 2))


def single(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    roll = s.rng.random()
    if roll < 0.2 and "cities" in s.tables:
        a, b = s.rng.sample(sorted(s.world.data["cities"]), 2)
        unit = s.rng.choice(["kilometers", "miles"]) if s.level >= 2 and s.rng.random() < 0.5 else None
        rows = s.world.row("cities", a), s.world.row("cities", b)
        lat1, lon1, lat2, lon2 = map(math.radians, (rows[0]["latitude"], rows[0]["longitude"], rows[1]["latitude"], rows[1]["longitude"]))
        h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        distance = convert(2 * 6371.0 * math.asin(math.sqrt(h)), "distance", unit or "kilometers")
        args: dict[str, Any] = {"origin": a, "destination": b, **({"unit": unit} if unit else {})}
        call = DraftCall(spec=ToolSpec(kind="distance", unit_param=unit is not None), args=args, surfaces=[distance])
        query = s.rng.choice(("How far is {a} from {b}{u}?", "What is the distance between {a} and {b}{u}?")).format(a=a, b=b, u=unit_text(unit))
        return [DraftStep(id="s1", question=query, calls=[call])], Answer(type="number", value=distance), query
    searchable = [t for t in s.tables if s.ref_fields(t) and s.numeric_fields(t) and not TYPES[t].keyed_by]
    if roll < 0.4 and searchable:
        table = s.rng.choice(searchable)
        ref_field, bound_field = s.rng.choice(s.ref_fields(table)), s.rng.choice(s.numeric_fields(table))
        row = s.world.row(table, s.entity(table))
        target = row[ref_field]
        bound = math.ceil(row[bound_field]) if s.rng.random() < 0.7 else None
        matches = sorted(n for n, r in s.world.data[table].items() if r[ref_field] == target and (bound is None or r[bound_field] <= bound))
        entity = TYPES[table]
        ref_phrase, bound_phrase = entity.field(ref_field).phrase, entity.field(bound_field).phrase
        condition = f" with a {bound_phrase} of at most {bound}" if bound is not None else ""
        query = s.rng.choice(("Which {p} have {t} as their {r}{c}?", "List every {n} whose {r} is {t}{c}.")).format(
            p=entity.plural_noun, n=entity.noun, t=target, r=ref_phrase, c=condition
        )
        args = {"ref": target, **({"bound": bound} if bound is not None else {})}
        call = DraftCall(spec=ToolSpec(kind="search", tables=(table,), fields=(ref_field, bound_field)), args=args, surfaces=[matches])
        return [DraftStep(id="s1", question=query, calls=[call])], Answer(type="list", value=matches), query
    step, value, kind = s.simple_lookup()
    return [step], Answer(type=kind, value=value), step.question  # type: ignore[arg-type]


def parallel(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    table = s.rng.choice(s.tables)
    if s.rng.random() < 0.5:
        field = s.rng.choice(s.value_fields(table))
        names = s.rng.sample(sorted(s.world.data[table]), s.rng.randint(2, 3))
        pairs = [(field, name) for name in names]
    else:
        name = s.entity(table)
        fields = s.rng.sample(s.value_fields(table), min(len(s.value_fields(table)), s.rng.randint(2, 3)))
        pairs = [(field, name) for field in fields]
    steps = [
        DraftStep(id=f"p{i}", question=s.question(table, field, name, None), calls=[s.lookup(table, field, name)])
        for i, (field, name) in enumerate(pairs, 1)
    ]
    return steps, Answer(type="list", value=[step.calls[0].surfaces[0] for step in steps]), join_questions(s.rng, [step.question for step in steps])


def join_questions(rng: random.Random, questions: list[str]) -> str:
    """Two questions through a pairwise join; more as one numbered list (joins do not nest well)."""
    if len(questions) == 1:
        return questions[0]
    if len(questions) == 2:
        return rng.choice(PARALLEL_JOINS).format(a=questions[0], b=questions[1])
    numbered = " ".join(f"({i}) {question}" for i, question in enumerate(questions, 1))
    return rng.choice(PARALLEL_LISTS).format(count=COUNT_WORDS[len(questions)], numbered=numbered)


def multi_hop(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    steps, value, kind, query = s.chain(s.hops(), "h")
    return steps, Answer(type=kind, value=value), query  # type: ignore[arg-type]


def parallel_multi_hop(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    hops = min(3, s.hops())
    first, value_a, _, query_a = s.chain(hops, "a")
    second, value_b, _, query_b = s.chain(hops, "b")
    query = join_questions(s.rng, [query_a, query_b])
    return first + second, Answer(type="list", value=[value_a, value_b]), query


def aggregation(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    for _ in range(100):
        table = s.rng.choice([t for t in s.tables if s.numeric_fields(t)])
        field = s.rng.choice(s.numeric_fields(table))
        names = s.rng.sample(sorted(s.world.data[table]), s.rng.randint(2, 4))
        values = [s.world.row(table, n)[field] for n in names]
        if len(set(values)) == len(values):
            break
    steps = [DraftStep(id=f"v{i}", question=s.question(table, field, n, None), calls=[s.lookup(table, field, n)]) for i, n in enumerate(names, 1)]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    phrase, noun = TYPES[table].field(field).phrase, TYPES[table].noun
    operation = s.rng.choice(("max", "min", "sum"))
    if operation == "sum":
        total = round(sum(values), 4)
        call = DraftCall(spec=ToolSpec(kind="calculator"), args={"operation": "add", "numbers": values}, surfaces=[total])
        steps.append(DraftStep(id="total", question=f"What is the sum of {values}?", depends_on=[st.id for st in steps], calls=[call]))
        query = s.rng.choice(("What is the combined {p} of {l}?", "Add up the {p} of {l}.")).format(p=phrase, l=listed)
        return steps, Answer(type="number", value=total), query
    pick = names[values.index(max(values) if operation == "max" else min(values))]
    word = "highest" if operation == "max" else "lowest"
    query = s.rng.choice(("Which of {l} has the {w} {p}?", "Among the {n}s {l}, which one has the {w} {p}?")).format(l=listed, w=word, p=phrase, n=noun)
    return steps, Answer(type="entity", value=pick), query


def conditional(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    table = s.rng.choice([t for t in s.tables if s.numeric_fields(t)])
    field = s.rng.choice(s.numeric_fields(table))
    name = s.entity(table)
    value = s.world.row(table, name)[field]
    threshold = round(value + s.rng.choice((-1, 1)) * max(1, abs(value) * s.rng.uniform(0.05, 0.5)))
    other = s.rng.choice([t for t in s.tables if len(s.value_fields(t)) >= 2])
    target = s.entity(other)
    if_field, else_field = s.rng.sample(s.value_fields(other), 2)
    chosen = if_field if value > threshold else else_field
    check = DraftStep(id="c1", question=s.question(table, field, name, None), calls=[s.lookup(table, field, name)])
    branch = DraftStep(id="c2", question=s.question(other, chosen, target, None), depends_on=["c1"], calls=[s.lookup(other, chosen, target)])
    phrase = TYPES[table].field(field).phrase
    query = (
        f"Check the {phrase} of {subject(table, name)}. If it is above {threshold}, tell me the "
        f"{TYPES[other].field(if_field).phrase} of {subject(other, target)}; otherwise tell me its "
        f"{TYPES[other].field(else_field).phrase}."
    )
    kind = "number" if TYPES[other].field(chosen).kind == "number" else "entity"
    return [check, branch], Answer(type=kind, value=branch.calls[0].surfaces[0]), query  # type: ignore[arg-type]


def state_changing(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    data = s.world.data
    if "finance" in s.domains_of_tables() and s.rng.random() < 0.5:
        by_currency: dict[str, list[str]] = {}
        for account, row in sorted(data["accounts"].items()):
            by_currency.setdefault(row["currency"], []).append(account)
        pairs = [accounts for accounts in by_currency.values() if len(accounts) >= 2]
        source, target = s.rng.sample(s.rng.choice(pairs), 2)
        balance = data["accounts"][source]["balance"]
        amount = round(s.rng.uniform(1, max(1.0, balance * 0.8)), 2) if balance > 1 else None
        if amount is not None:
            new_balance = round(balance - amount, 2)
            call = DraftCall(spec=ToolSpec(kind="transfer_funds"), args={"source": source, "target": target, "amount": amount}, surfaces=[new_balance])
            query = s.rng.choice(
                ("Transfer {m} from account {a} to account {b}, then tell me the new balance of {a}.", "Move {m} out of {a} into {b} and report what is left in {a}.")
            ).format(m=amount, a=source, b=target)
            return [DraftStep(id="act", question=query, calls=[call])], Answer(type="number", value=new_balance), query
    products = [p for p, row in sorted(data["products"].items()) if row["stock"] >= 1]
    product = s.rng.choice(products)
    customer = s.entity("users")
    quantity = s.rng.randint(1, min(5, data["products"][product]["stock"]))
    order_id = f"ORD-{10000 + len(data['orders'])}"
    total = round(data["products"][product]["price"] * quantity, 2)
    call = DraftCall(spec=ToolSpec(kind="place_order"), args={"customer": customer, "product": product, "quantity": quantity}, surfaces=[order_id, total])
    query = s.rng.choice(
        ("Order {q} x {p} for {c} and tell me the total price.", "Please place an order of {q} units of {p} for customer {c}; what does it cost in total?")
    ).format(q=quantity, p=product, c=customer)
    return [DraftStep(id="act", question=query, calls=[call])], Answer(type="number", value=total), query


def no_tool(s: Sampler) -> tuple[list[DraftStep], Answer, str]:
    a, b = s.rng.randint(2, 99), s.rng.randint(2, 99)
    op = s.rng.choice(sorted(OPERATIONS))
    query = s.rng.choice(NO_TOOL_FORMS).format(a=a, b=b, op=op)
    return [], Answer(type="number", value=OPERATIONS[op](a, b)), query


BUILDERS: dict[str, Callable[[Sampler], tuple[list[DraftStep], Answer, str]]] = {
    "single": single,
    "parallel": parallel,
    "multi_hop": multi_hop,
    "parallel_multi_hop": parallel_multi_hop,
    "aggregation": aggregation,
    "conditional": conditional,
    "state_changing": state_changing,
    "no_tool": no_tool,
}


def decompose(index: int, structure: str, level: int, split: Split, world: World, domains: list[str], rng: random.Random) -> Draft:
    sampler = Sampler(world, domains, rng, level)
    steps, answer, query = BUILDERS[structure](sampler)
    task_domains = sorted({call.spec.domain for step in steps for call in step.calls}) or ["math"]
    return Draft(
        id=f"{structure}-L{level}-{index:05d}",
        index=index,
        split=split,
        structure=structure,  # type: ignore[arg-type]
        level=level,
        domains=task_domains,
        query=query,
        steps=steps,
        answer=answer,
    )
