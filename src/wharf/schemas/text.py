"""Length and character rules for everything a user names or describes, in one place.

The request schemas use these types, so the OpenAPI document shows each limit and pattern;
``services/naming.py`` applies the same rules to what reaches a service by another way.
Resource-specific name rules (an app name is a DNS label, for instance) come on top.

=================  ===========================================================================
names              1-255 characters, no control characters (no NUL, newline, tab)
descriptions       up to 4 KiB; newlines and tabs allowed, no other control characters
tags, labels       up to 64 pairs; keys 1-255 and values up to 1,024 characters, one line each
env variables      up to 256; names letters, digits and ``_`` (not starting with a digit), up
                   to 255 characters; values up to 32 KiB, no NUL
=================  ===========================================================================
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

MAX_NAME = 255
MAX_DESCRIPTION = 4096
MAX_TAGS = 64
MAX_TAG_VALUE = 1024
MAX_ENV = 256
MAX_ENV_VALUE = 32 * 1024

ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
"""No control character at all: names, keys, one-line values."""
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Newlines and tabs allowed, other control characters not: descriptions."""
NO_NUL = r"^[^\x00]*$"
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=ONE_LINE)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION, pattern=MULTI_LINE)]
TagKey = Name
TagValue = Annotated[str, StringConstraints(max_length=MAX_TAG_VALUE, pattern=ONE_LINE)]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=MAX_TAGS)]
AnyTags = Annotated[dict[TagKey, Any], Field(max_length=MAX_TAGS)]
"""Tags of data and model versions, whose values may be numbers (as Azure ML's YAML allows)."""
EnvKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=ENV_KEY)]
EnvValue = Annotated[str, StringConstraints(max_length=MAX_ENV_VALUE, pattern=NO_NUL)]
EnvMap = Annotated[dict[EnvKey, EnvValue], Field(max_length=MAX_ENV)]

PATTERN_MESSAGES = {
    ONE_LINE: "must not contain control characters (NUL, newline, tab)",
    MULTI_LINE: "must not contain control characters other than newlines and tabs",
    NO_NUL: "must not contain NUL characters",
    ENV_KEY: "use letters, digits and '_', not starting with a digit",
}
"""Plain words for a broken pattern, for error messages."""
