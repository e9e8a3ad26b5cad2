"""Resolving free-text resource names to catalogue codes (symbiosis.resolve) and the shipped synonym list."""
from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symbiosis.datasets import catalogue_path, datasets_dir
from symbiosis.errors import InputError, ValidationError
from symbiosis.resolve import (
    ResourceResolver,
    Resolution,
    load_resource_map,
    load_synonyms,
    normalise_name,
    synonyms_path,
)

SYNONYMS_MD = datasets_dir() / "catalogue" / "SYNONYMS.md"


def _catalogue_rows() -> list[dict[str, str]]:
    with open(catalogue_path(), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _synonym_rows() -> list[dict[str, str]]:
    with open(synonyms_path(), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def resolver(tmp_path_factory) -> ResourceResolver:
    """A resolver over a fresh store: the shipped catalogue and the shipped synonyms."""
    from symbiosis.store import open_store

    return ResourceResolver.from_store(open_store(tmp_path_factory.mktemp("resolve") / "store.db"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------
# normalise_name


@pytest.mark.parametrize("written, expected", [
    ("ashes", "ash"), ("tyres", "tyre"), ("gases", "gas"), ("slurries", "slurry"), ("biogases", "biogas"),
    ("boxes", "box"), ("chips", "chip"),
    # singular words ending in s stay as they are
    ("gas", "gas"), ("glass", "glass"), ("process", "process"), ("biomass", "biomass"), ("molasses", "molasses"),
    ("humus", "humus"), ("analysis", "analysis"), ("cullet", "cullet"),
])
def test_plurals_fold_per_word_and_singulars_ending_in_s_are_kept(written, expected):
    assert normalise_name(written) == expected


@pytest.mark.parametrize("written, expected", [
    ("  Fly_Ash ", "fly ash"),
    ("fly-ashes", "fly ash"),
    ("Fly.Ash/Slag", "fly ash slag"),
    ("Carbon dioxide (captured or by-product)", "carbon dioxide captured or by product"),  # qualifiers kept
    ("Kühlwasser", "kuhlwasser"),                  # accents stripped
    ("ＦＧＤ　ｇｙｐｓｕｍ", "fgd gypsum"),            # full-width letters and space
    ("CO₂", "co2"),                                # subscript digit
    ("brewer’s yeast", "brewer yeast"),            # apostrophe dropped, then the plural folded
    ("脱硫 石膏", "脱硫石膏"),                      # no spaces inside Chinese
    ("粉煤灰（干）", "粉煤灰干"),                    # full-width brackets are punctuation too
    ("Gießereialtsand", "giessereialtsand"),       # ß folds to ss as in case folding
    ("---", ""),
])
def test_normalise_name_examples(written, expected):
    assert normalise_name(written) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_name_is_idempotent(text):
    once = normalise_name(text)
    assert normalise_name(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_name_ignores_case(text):
    assert normalise_name(text.upper()) == normalise_name(text) == normalise_name(text.lower())


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalised_names_have_no_stray_spaces_or_punctuation(text):
    result = normalise_name(text)
    assert result == result.strip() and "  " not in result
    assert not any(char in result for char in "_-./()[]'*")


def test_normalise_name_rejects_non_text():
    with pytest.raises(TypeError):
        normalise_name(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# resolving against the shipped catalogue


def test_every_catalogue_code_and_name_resolves_to_itself(resolver):
    rows = _catalogue_rows()
    assert len(rows) > 50
    for row in rows:
        by_code = resolver.resolve(row["code"])
        assert (by_code.code, by_code.how) == (row["code"], "code")
        # case and separators do not matter for codes ("Fly-Ash" is fly_ash)
        assert resolver.resolve(row["code"].upper().replace("_", "-")).code == row["code"]
        by_name = resolver.resolve(row["name"])
        assert by_name.code == row["code"], (row["name"], by_name)
        assert resolver.resolve(f"  {row['name'].upper()} ").code == row["code"]


@pytest.mark.parametrize("written, code, how", [
    ("process steam", "steam", "name"),
    ("Process steams", "steam", "name"),
    ("Cooling Water", "cooling_water", "code"),
    ("fly-ashes", "fly_ash", "code"),
    ("Fly_Ash", "fly_ash", "code"),
    ("粉煤灰", "fly_ash", "synonym"),
    ("脱硫石膏", "fgd_gypsum", "synonym"),
    ("蒸汽", "steam", "synonym"),
    ("Flugasche", "fly_ash", "synonym"),
    ("pulverised fuel ash", "fly_ash", "synonym"),
    ("FGD gypsum", "fgd_gypsum", "code"),
    ("desulphurisation gypsum", "fgd_gypsum", "synonym"),
    ("REA-Gips", "fgd_gypsum", "synonym"),
    ("磷石膏", "phosphogypsum", "synonym"),
    ("sea water", "seawater", "synonym"),
    ("海水", "seawater", "synonym"),
    ("effluent", "wastewater", "synonym"),
    ("废水", "wastewater", "synonym"),
    ("中水", "treated_wastewater", "synonym"),
    ("reclaimed water", "treated_wastewater", "synonym"),
    ("电力", "electricity", "synonym"),
    ("Strom", "electricity", "synonym"),
    ("carbon dioxide", "co2", "synonym"),
    ("CO₂", "co2", "code"),
    ("二氧化碳", "co2", "synonym"),
    ("waste tires", "waste_tyres", "synonym"),
    ("used tyres", "waste_tyres", "synonym"),
    ("10 01 02", "fly_ash", "ewc"),
    ("100102", "fly_ash", "ewc"),
    ("10.01.02*", "fly_ash", "ewc"),
    ("20-03-01", "municipal_solid_waste", "ewc"),
])
def test_common_written_forms_resolve(resolver, written, code, how):
    assert resolver.resolve(written) == Resolution(written, code, how)


# Terms SYNONYMS.md says were left out because they mean more than one catalogue entry (or a
# different material): they must not resolve, and the decision must be written down.
LEFT_OUT = ["飞灰", "gypsum", "slag", "炉渣", "ash", "sludge", "污泥", "heat", "biomass", "LNG", "landfill gas",
            "lignite", "ethanol", "煤气"]


@pytest.mark.parametrize("term", LEFT_OUT)
def test_ambiguous_terms_are_left_out_and_documented(resolver, term):
    assert resolver.resolve(term).code is None
    assert term in SYNONYMS_MD.read_text(encoding="utf-8")


def test_an_ewc_code_shared_by_two_resources_is_ambiguous_not_guessed(resolver):
    # 10 02 02 (unprocessed slag) is the catalogue's EWC code of both blast-furnace and steel slag
    result = resolver.resolve("10 02 02")
    assert result.code is None and result.how == "ambiguous ewc"
    assert {code for code, _ in result.suggestions} == {"blast_furnace_slag", "steel_slag"}
    assert "could be any of" in result.hint()


@pytest.mark.parametrize("written, first", [
    ("fly ashh", "fly_ash"),
    ("Kühlwaser", "cooling_water"),
    ("sulfric acid", "sulphuric_acid"),
    ("steam process", "steam"),
    ("MSWI fly ash", "fly_ash"),  # close as text; SYNONYMS.md explains why it is not resolved
])
def test_unknown_names_are_unmatched_with_sensible_suggestions(resolver, written, first):
    result = resolver.resolve(written)
    assert result.code is None and result.how == "unmatched" and not result.matched
    assert result.suggestions[0][0] == first
    scores = [score for _, score in result.suggestions]
    assert scores == sorted(scores, reverse=True) and all(0 <= score <= 1 for score in scores)
    assert len(result.suggestions) <= 3
    assert first in result.hint()


def test_nothing_close_gives_no_suggestions(resolver):
    assert resolver.resolve("qqqq zzzz").suggestions == ()
    assert resolver.resolve("   ") == Resolution("   ", None, "unmatched")


def test_suggestions_never_resolve_silently():
    resolver = ResourceResolver({"fly_ash": "Coal fly ash", "bottom_ash": "Bottom ash"})
    assert resolver.resolve("fly ashes").code == "fly_ash"
    result = resolver.resolve("fly asj")  # one letter off: suggested, not resolved
    assert result.code is None and result.suggestions[0][0] == "fly_ash"


def test_exact_text_is_tried_before_its_normalised_form():
    # a user added "Fly-Ash" beside the shipped fly_ash: each is reached by its own spelling, and a
    # spelling that normalises to both is ambiguous rather than a coin toss
    resolver = ResourceResolver({"fly_ash": "Coal fly ash", "Fly-Ash": "Fly ash from the boiler"})
    assert resolver.resolve("Fly-Ash").code == "Fly-Ash"
    assert resolver.resolve("fly_ash").code == "fly_ash"
    ambiguous = resolver.resolve("FLY ASH")
    assert ambiguous.code is None and ambiguous.how == "ambiguous code"
    assert {code for code, _ in ambiguous.suggestions} == {"fly_ash", "Fly-Ash"}


def test_synonyms_of_codes_missing_from_the_store_are_ignored():
    resolver = ResourceResolver({"steam": "Process steam"}, synonyms=load_synonyms())
    assert resolver.resolve("蒸汽").code == "steam"
    assert resolver.resolve("粉煤灰").code is None  # fly_ash is not in this catalogue


def test_from_store_sees_resources_users_added(store):
    store.execute("INSERT INTO resources (code, name, kind, canonical_unit, ewc_code) "
                  "VALUES ('spent_pot_lining', 'Spent pot lining', 'waste', 't/yr', '16 11 01*')")
    resolver = ResourceResolver.from_store(store)
    assert resolver.resolve("spent pot linings").code == "spent_pot_lining"
    assert resolver.resolve("161101").code == "spent_pot_lining"
    assert resolver.resolve("process steam").code == "steam"


# ---------------------------------------------------------------------------------------------------
# the user's resource map


def test_resource_map_wins_over_catalogue_and_synonyms(resolver, tmp_path):
    path = _write(tmp_path / "map.csv", "name,code,comment\n"
                                        "Dampf,district_heat,our 'Dampf' is the town's heat network\n"
                                        "steam,waste_heat,\n"
                                        "Ofenasche,bottom_ash,\n")
    resource_map = load_resource_map(path)
    with_map = ResourceResolver(resolver.catalogue, load_synonyms(), resource_map)
    assert with_map.resolve("Dampf") == Resolution("Dampf", "district_heat", "resource map")
    assert with_map.resolve("STEAM").code == "waste_heat"          # over the catalogue code
    assert with_map.resolve("ofenasche").code == "bottom_ash"
    assert with_map.resolve("蒸汽").code == "steam"                 # the rest is untouched
    assert resolver.resolve("Dampf").code == "steam"               # and the map changed nothing shared


def test_resource_map_code_is_matched_like_a_catalogue_code(resolver, tmp_path):
    path = _write(tmp_path / "map.csv", "Name,Code\nAsche E-Filter,Fly-Ash\n")
    with_map = ResourceResolver(resolver.catalogue, resource_map=load_resource_map(path))
    assert with_map.resolve("Asche E-Filter").code == "fly_ash"


def test_resource_map_naming_an_unknown_code_is_an_error_with_file_row_and_value(resolver, tmp_path):
    path = _write(tmp_path / "my_map.csv", "name,code\nDampf,steam\nAsche,flyash_typo\n")
    with pytest.raises(ValidationError) as caught:
        ResourceResolver(resolver.catalogue, resource_map=load_resource_map(path))
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (str(path), 3, "code", "flyash_typo")
    message = str(caught.value)
    assert "my_map.csv" in message and "row 3" in message and "flyash_typo" in message
    assert "fly_ash" in message  # the closest catalogue code is offered


def test_resource_map_may_name_new_codes_when_allowed(resolver, tmp_path):
    path = _write(tmp_path / "map.csv", "name,code\nAnode butts,anode_butts\nDampf,steam\n")
    with_map = ResourceResolver(resolver.catalogue, resource_map=load_resource_map(path), allow_new_codes=True)
    assert with_map.new_codes == frozenset({"anode_butts"})
    new = with_map.resolve("anode butts")
    assert (new.code, new.how, new.is_new) == ("anode_butts", "resource map (new code)", True)
    assert with_map.resolve("Dampf").how == "resource map" and not with_map.resolve("Dampf").is_new


def test_plain_mapping_as_resource_map_is_checked_too(resolver):
    with pytest.raises(ValidationError, match="nonsense"):
        ResourceResolver(resolver.catalogue, resource_map={"Asche": "nonsense"})


def test_resource_map_giving_one_name_two_codes_is_an_error(tmp_path):
    path = _write(tmp_path / "map.csv", "name,code\nAsche,fly_ash\nASCHE,bottom_ash\n")
    with pytest.raises(ValidationError) as caught:
        load_resource_map(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "name", "ASCHE")
    assert "row 2" in problem.expected


def test_resource_map_needs_its_header_and_both_cells(tmp_path):
    with pytest.raises(ValidationError) as caught:
        load_resource_map(_write(tmp_path / "a.csv", "resource,code\nAsche,fly_ash\n"))
    assert caught.value.problems[0].row == 1 and "name" in caught.value.problems[0].expected
    with pytest.raises(ValidationError) as caught:
        load_resource_map(_write(tmp_path / "b.csv", "name,code\nAsche,\n,fly_ash\n\n"))
    # a name without a code is not mapped yet (a draft map's row): skipped, not an error
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "name")]
    assert load_resource_map(_write(tmp_path / "c.csv", "name,code\nAsche,\nFlugasche,fly_ash\n")) == \
        {"flugasche": "fly_ash"}
    with pytest.raises(InputError, match="no such file"):
        load_resource_map(tmp_path / "missing.csv")
    (tmp_path / "latin1.csv").write_bytes("name,code\nK\xfchlwasser,cooling_water\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_resource_map(tmp_path / "latin1.csv")


def test_resource_map_accepts_an_excel_byte_order_mark(tmp_path):
    (tmp_path / "bom.csv").write_bytes("name,code\nKühlwasser,cooling_water\n".encode("utf-8-sig"))
    assert load_resource_map(tmp_path / "bom.csv") == {"kuhlwasser": "cooling_water"}


# ---------------------------------------------------------------------------------------------------
# the shipped synonym list


def test_shipped_synonyms_are_many_and_point_to_catalogue_codes():
    rows = _synonym_rows()
    codes = {row["code"] for row in _catalogue_rows()}
    with open(synonyms_path(), encoding="utf-8") as handle:
        assert handle.readline().strip() == "code,synonym,lang"
    assert len(rows) >= 150
    assert len({row["code"] for row in rows}) >= 50
    assert [row for row in rows if row["code"] not in codes] == []
    assert {row["lang"] for row in rows} == {"en", "zh", "de"}
    assert all(row["synonym"].strip() == row["synonym"] != "" for row in rows)


def test_no_shipped_synonym_normalises_to_two_codes():
    codes_by_key: dict[str, set[str]] = defaultdict(set)
    for row in _synonym_rows():
        codes_by_key[normalise_name(row["synonym"])].add(row["code"])
    assert {key: codes for key, codes in codes_by_key.items() if len(codes) > 1} == {}
    assert len(load_synonyms()) == len(codes_by_key)


def test_no_shipped_synonym_is_shadowed_or_redundant():
    # codes and names are tried before synonyms: a synonym equal to another resource's code or name
    # would never be reached, and one equal to its own resource's code or name is dead weight
    catalogue_keys = {}
    for row in _catalogue_rows():
        catalogue_keys[normalise_name(row["code"])] = row["code"]
        catalogue_keys[normalise_name(row["name"])] = row["code"]
    clashes = [(row["synonym"], row["code"], catalogue_keys[normalise_name(row["synonym"])])
               for row in _synonym_rows() if normalise_name(row["synonym"]) in catalogue_keys]
    assert clashes == []


def test_every_shipped_synonym_resolves_to_its_code(resolver):
    for row in _synonym_rows():
        assert resolver.resolve(row["synonym"]) == Resolution(row["synonym"], row["code"], "synonym")


def test_a_synonym_list_giving_one_term_to_two_codes_is_a_data_error(tmp_path):
    path = _write(tmp_path / "synonyms.csv", "code,synonym,lang\nfly_ash,Asche,de\nbottom_ash,asche,de\n")
    with pytest.raises(ValidationError) as caught:
        load_synonyms(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.value) == (str(path), 3, "asche")
    assert "fly_ash" in problem.expected


def test_synonyms_md_cites_sources_and_records_decisions():
    text = SYNONYMS_MD.read_text(encoding="utf-8")
    assert "http" in text and "飞灰" in text and "left out" in text.lower()


# ---------------------------------------------------------------------------------------------------
# many names


class _CountingResolver(ResourceResolver):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def resolve(self, name):
        self.calls.append(name)
        return super().resolve(name)


def test_resolve_many_resolves_each_distinct_name_once(resolver):
    distinct = ["process steam", "Cooling Water", "fly-ashes", "粉煤灰", "脱硫石膏", "蒸汽", "Flugasche",
                "FGD gypsum", "10 01 02", "fly ashh", "Strom", "中水", "effluent", "sea water", "CO2",
                "steel_slag", "waste tires", "biogas", "unknown stuff", "Process steams"]
    names = [distinct[i % len(distinct)] for i in range(100_000)]
    random.Random(7).shuffle(names)
    counting = _CountingResolver(resolver.catalogue, load_synonyms())
    results = counting.resolve_many(names)
    assert sorted(counting.calls) == sorted(distinct)  # 20 calls for 100,000 names
    assert set(results) == set(distinct)
    assert results["process steam"].code == results["Process steams"].code == results["蒸汽"].code == "steam"
    assert results["unknown stuff"].how == "unmatched"
