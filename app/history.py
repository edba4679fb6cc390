"""Undo and redo over whole states of the window (what is drawn, what picture is open).

States are opaque, immutable values (e.g. Drawing.snapshot() plus the opened picture), so every
change, a Clear included, is undone the same way: put back the state before it.
"""

LIMIT = 500  # states kept for undo; a long session must not grow without bound


class History:
    """Two stacks of states: `record(before)` after each change, then `undo`/`redo`."""

    def __init__(self, limit=LIMIT):
        self.limit = limit
        self._undo = []
        self._redo = []

    @property
    def can_undo(self):
        return bool(self._undo)

    @property
    def can_redo(self):
        return bool(self._redo)

    def record(self, before):
        """A change was made; `before` is the state it replaced. A new change forgets the redos."""
        self._undo.append(before)
        del self._undo[:-self.limit]
        self._redo.clear()

    def undo(self, current):
        """The state to go back to (None if there is none); `current` becomes redoable."""
        if not self._undo:
            return None
        self._redo.append(current)
        return self._undo.pop()

    def redo(self, current):
        """The state undone last (None if there is none); `current` becomes undoable again."""
        if not self._redo:
            return None
        self._undo.append(current)
        return self._redo.pop()
