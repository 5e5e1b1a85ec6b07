"""Metric names referenced by PromQL expressions (alerting rules, Grafana queries).

A small lexer rather than a PromQL parser: it only has to tell metric names from functions,
keywords, label names and durations, and the expressions it reads are our own. Names it
cannot classify count as metric names, so a typo in a metric name is reported, never hidden.
"""

import re
from typing import Iterable, Set

# PromQL keywords and aggregation modifiers that are not followed by "(" or are bare.
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2", "inf", "nan",
}
# Clauses whose parenthesised list holds label names, not series.
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER_SUFFIX = re.compile(r"(?<![A-Za-z0-9_:])\d[A-Za-z0-9_.]*")
# Grafana's templating functions: label_values(metric, label) names a label last.
_LABEL_VALUES = re.compile(r"label_values\s*\(([^,()]*(?:\{[^}]*\})?)\s*,\s*\w+\s*\)")


def metric_names(expr: str) -> Set[str]:
    """Names of the series an expression selects."""
    text = _VARIABLE.sub(" 1 ", expr)
    text = _LABEL_VALUES.sub(r"\1", text)
    text = _STRING.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    text = _NUMBER_SUFFIX.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(0)
        rest = text[match.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation
        if word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


def counter_arguments(expr: str) -> Set[str]:
    """Metric names used inside rate()/irate()/increase(): they must be counters."""
    names = set()
    for match in re.finditer(r"\b(?:rate|irate|increase)\s*\(([^\[]*)\[", expr):
        names |= metric_names(match.group(1))
    return names


def all_metric_names(exprs: Iterable[str]) -> Set[str]:
    names = set()
    for expr in exprs:
        names |= metric_names(expr)
    return names


_BY_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_LABEL_REPLACE_TARGET = re.compile(r"label_replace\s*\(.*?,\s*\"([A-Za-z_][A-Za-z0-9_]*)\"", re.S)
# Grafana's label_values(metric, label) and label_values(label): the label is the last argument.
_LABEL_VALUES_LABEL = re.compile(r"label_values\s*\((?:[^()]*?,)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)")


def label_names(expr: str) -> Set[str]:
    """Label names an expression matches on, groups by or writes (label_replace's target).

    What a renamed label (`interface` -> `device`) leaves behind: a join on a label no series
    has matches nothing, silently, just as a misspelt metric name does.
    """
    text = _VARIABLE.sub(" 1 ", expr)
    names = set()
    for match in _BY_LIST.finditer(text):
        names |= {name.strip() for name in match.group(1).split(",") if name.strip()}
    for matchers in _MATCHERS.findall(_STRING.sub('""', text)):
        names |= set(_MATCHER_LABEL.findall(matchers))
    names |= set(_LABEL_REPLACE_TARGET.findall(text))
    names |= set(_LABEL_VALUES_LABEL.findall(text))
    return names
