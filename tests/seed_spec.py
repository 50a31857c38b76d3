"""Reads the seed document itself (a verbatim copy in tests/fixtures) so schema tests check the live
database against the specification, not against our own models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SEED_COPY = Path(__file__).parent / "fixtures" / "seed-schema.md"
SCALARS = {"String", "Int", "Boolean", "DateTime", "Json"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class SeedField:
    name: str
    type: str
    optional: bool
    is_list: bool
    attributes: str

    @property
    def column(self) -> str:
        return snake(self.name)

    @property
    def default(self) -> str | None:
        match = re.search(r"@default\((.*?)\)(?:\s|$)", self.attributes + " ")
        return match.group(1) if match else None


@dataclass
class SeedModel:
    name: str
    table: str = ""
    fields: list[SeedField] = field(default_factory=list)
    relations: list[SeedField] = field(default_factory=list)
    indexes: list[list[str]] = field(default_factory=list)
    uniques: list[list[str]] = field(default_factory=list)


@dataclass
class SeedSpec:
    models: dict[str, SeedModel]
    enums: dict[str, list[str]]
    high_priority_indexes: dict[str, tuple[str, str]]  # name -> (table, column list as written)


def _prisma_block(text: str) -> str:
    return text.split("```prisma", 1)[1].split("```", 1)[0]


def _columns(bracketed: str) -> list[str]:
    return [snake(c.strip()) for c in bracketed.split(",") if c.strip()]


def parse(text: str | None = None) -> SeedSpec:
    text = text if text is not None else SEED_COPY.read_text()
    prisma = _prisma_block(text)
    enums = {
        m.group(1): m.group(2).split() for m in re.finditer(r"^enum (\w+) \{(.*?)\}", prisma, re.S | re.M)
    }
    models: dict[str, SeedModel] = {}
    for match in re.finditer(r"^model (\w+) \{(.*?)^\}", prisma, re.S | re.M):
        model = SeedModel(match.group(1))
        for raw in match.group(2).splitlines():
            line = raw.split("//", 1)[0].strip()
            if not line:
                continue
            if line.startswith("@@map"):
                model.table = re.findall(r'"(.*?)"', line)[0]
            elif line.startswith("@@index"):
                model.indexes.append(_columns(re.findall(r"\[(.*?)\]", line)[0]))
            elif line.startswith("@@unique"):
                model.uniques.append(_columns(re.findall(r"\[(.*?)\]", line)[0]))
            else:
                name, type_, *rest = line.split(None, 2)
                seed_field = SeedField(
                    name=name,
                    type=type_.rstrip("?").removesuffix("[]"),
                    optional=type_.endswith("?"),
                    is_list=type_.endswith("[]"),
                    attributes=rest[0] if rest else "",
                )
                if seed_field.type in SCALARS or seed_field.type in enums:
                    model.fields.append(seed_field)
                else:
                    model.relations.append(seed_field)
        models[model.name] = model
    sql = text.split("### High Priority Indexes", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    high = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"CREATE INDEX (\w+) ON (\w+)\((.*?)\);", sql)
    }
    return SeedSpec(models, enums, high)
