from __future__ import annotations

from rest_framework import serializers

# A seq is a 64-bit column; a cursor beyond it is a 400, not an overflow in the database.
MAX_SEQ = 2**63 - 1


class SeqCursor(serializers.Serializer):
    """`?after=<seq>&limit=<n>`: the cursor every client resumes from. Other query
    parameters are not its business, so it is not strict about unknown ones."""

    after = serializers.IntegerField(min_value=0, max_value=MAX_SEQ, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


def seq_page(rows: list, limit: int, serializer_class) -> dict:
    """One page of events. `rows` holds up to limit + 1 rows; the extra one tells whether
    more follow."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": serializer_class(rows, many=True).data,
        "next_after": rows[-1].seq if rows else None,
        "has_more": has_more,
    }
