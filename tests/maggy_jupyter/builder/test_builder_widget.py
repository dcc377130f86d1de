"""SearchspaceBuilder through its widget state, with a recording comm in place of a frontend.

Edits arrive the way a browser sends them (an 'update' comm message handled by the widget), and
the assertions read the widgets' state and the messages the kernel side sent back.
"""

from __future__ import annotations

import html
import itertools

import comm
import pytest

from maggy import Searchspace
from maggy_jupyter.builder import SearchspaceBuilder

_ids = itertools.count()


class RecordingComm:
    """A comm that records what the kernel side sends; no frontend, no kernel."""

    kernel = "recording"

    def __init__(self, **kwargs):
        self.comm_id = f"rec-{next(_ids)}"
        self.opened = kwargs
        self.messages = []

    def send(self, data=None, metadata=None, buffers=None):
        self.messages.append(data)

    def on_msg(self, callback):
        pass

    def open(self, *args, **kwargs):
        pass

    def close(self, *args, **kwargs):
        pass


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))


def frontend_sets(widget, **state):
    """Deliver an edit as the browser would: an 'update' message on the widget's comm."""
    widget._handle_msg(
        {"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []}
    )


def fill(row, name, kind, values, log=False):
    frontend_sets(row.kind, index=row.kind.options.index(kind))
    frontend_sets(row.name, value=name)
    frontend_sets(row.values, value=values)
    frontend_sets(row.log, value=log)


ERROR_COLOUR = "--jp-error-color1"


def shows_an_error(builder):
    """Whether anything in the builder is drawn as an error (red text, a cross)."""
    texts = [builder.status.value, *(row.error.value for row in builder.rows)]
    return any(ERROR_COLOUR in text or "&#10007;" in text for text in texts)


def test_a_fresh_builder_has_one_blank_row_and_no_searchspace_yet():
    builder = SearchspaceBuilder()
    assert len(builder.rows) == 1 and builder.rows[0].error_text == "" and not builder.is_valid
    with pytest.raises(ValueError, match="no parameters yet"):
        _ = builder.searchspace
    assert "no parameters yet" in builder.status.value


def test_nothing_is_an_error_before_the_user_types():
    # Before: a red "no parameters yet" under a builder nobody had touched yet.
    builder = SearchspaceBuilder(name="sp", namespace={})
    assert not shows_an_error(builder)
    frontend_sets(builder.rows[0].kind, index=builder.rows[0].kind.options.index("INTEGER"))
    builder.add_button.click()  # an empty new row is not an error either
    assert not shows_an_error(builder) and not builder.is_valid
    frontend_sets(builder.rows[1].name, value="units")  # typed: now the row's problem shows
    assert shows_an_error(builder) and builder.rows[1].error_text


def test_removing_every_row_is_no_error_either():
    builder = SearchspaceBuilder(Searchspace(a=("DOUBLE", [0, 1])))
    builder.rows[0].remove_button.click()
    assert builder.rows == [] and not shows_an_error(builder) and "no parameters yet" in builder.status.value


def test_a_new_blank_row_keeps_a_valid_space_valid():
    builder = SearchspaceBuilder(Searchspace(a=("DOUBLE", [0, 1])))
    builder.add_button.click()
    assert builder.is_valid and not shows_an_error(builder) and "1 parameter" in builder.status.value


def test_filled_rows_give_the_searchspace_the_code_and_the_binding():
    namespace = {}
    builder = SearchspaceBuilder(name="sp", namespace=namespace)
    fill(builder.rows[0], "lr", "DOUBLE", "1e-5, 1e-1", log=True)
    builder.add_button.click()
    fill(builder.rows[1], "act", "CATEGORICAL", "relu, tanh")
    expected = Searchspace(lr=("DOUBLE", [1e-5, 0.1], "log"), act=("CATEGORICAL", ["relu", "tanh"]))
    assert builder.searchspace == expected and namespace["sp"] == expected
    assert builder.preview_code == (
        "from maggy import Searchspace\n\n"
        "sp = Searchspace(\n"
        "    lr=('DOUBLE', [1e-05, 0.1], 'log'),\n"
        "    act=('CATEGORICAL', ['relu', 'tanh']),\n"
        ")"
    )
    assert (
        "sp = Searchspace(" in builder.code.value
        and "2 parameters, bound to <code>sp</code>" in builder.status.value
    )


def _searchspace_message(value):
    with pytest.raises(ValueError) as info:
        Searchspace(x=value)
    return str(info.value)


@pytest.mark.parametrize(
    ("kind", "values", "log", "value"),
    [
        ("DOUBLE", "1, 0", False, ("DOUBLE", [1, 0])),
        ("DOUBLE", "0, 1", True, ("DOUBLE", [0, 1], "log")),
        ("DOUBLE", "0, 1, 2", False, ("DOUBLE", [0, 1, 2])),
        ("INTEGER", "0.5, 3", False, ("INTEGER", [0.5, 3])),
        ("DISCRETE", "1, a", False, ("DISCRETE", [1, "a"])),
        ("CATEGORICAL", "", False, ("CATEGORICAL", [])),
        ("CATEGORICAL", "a, a", False, ("CATEGORICAL", ["a", "a"])),
    ],
)
def test_row_errors_are_searchspaces_own_messages(kind, values, log, value):
    builder = SearchspaceBuilder()
    row = builder.rows[0]
    fill(row, "x", kind, values, log)
    assert row.error_text == _searchspace_message(value)
    assert row.error_text in html.unescape(row.error.value)
    assert not builder.is_valid and "1 row to fix" in builder.status.value
    with pytest.raises(ValueError, match="row 1: "):
        _ = builder.searchspace


def test_names_are_checked_across_rows_and_unparsable_values_are_flagged():
    builder = SearchspaceBuilder(Searchspace(a=("DOUBLE", [0, 1]), b=("INTEGER", [1, 2])))
    frontend_sets(builder.rows[1].name, value="a")
    assert builder.rows[0].error_text == "" and "already in the search space" in builder.rows[1].error_text
    frontend_sets(builder.rows[1].name, value="reporter")
    assert "the name is reserved" in builder.rows[1].error_text
    frontend_sets(builder.rows[1].name, value="b")
    frontend_sets(builder.rows[1].values, value="'1, 2")
    assert builder.rows[1].error_text == "Searchspace parameter 'b': unclosed quote '"


def test_an_invalid_edit_keeps_the_last_valid_binding_until_fixed():
    namespace = {}
    builder = SearchspaceBuilder(Searchspace(x=("DOUBLE", [0, 1])), name="sp", namespace=namespace)
    bound = namespace["sp"]
    frontend_sets(builder.rows[0].values, value="1, 0")
    assert namespace["sp"] is bound
    frontend_sets(builder.rows[0].values, value="0, 2")
    assert namespace["sp"] == Searchspace(x=("DOUBLE", [0, 2]))


def test_log_applies_to_bounded_types_only():
    builder = SearchspaceBuilder()
    row = builder.rows[0]
    fill(row, "x", "DOUBLE", "1, 10", log=True)
    assert not row.log.disabled and builder.searchspace == Searchspace(x=("DOUBLE", [1, 10], "log"))
    frontend_sets(row.kind, index=row.kind.options.index("DISCRETE"))
    assert row.log.disabled and builder.searchspace == Searchspace(x=("DISCRETE", [1, 10]))
    assert "e.g. 16, 32, 64" in row.values.placeholder


def test_rows_are_added_and_removed_with_their_buttons():
    builder = SearchspaceBuilder(Searchspace(a=("DOUBLE", [0, 1]), b=("INTEGER", [1, 2])))
    builder.add_button.click()
    assert len(builder.rows) == 3 and builder.rows[2].is_blank
    assert builder.searchspace == Searchspace(
        a=("DOUBLE", [0, 1]), b=("INTEGER", [1, 2])
    )  # blank row skipped
    builder.rows[0].remove_button.click()
    assert [r.name.value for r in builder.rows] == ["b", ""]
    assert builder.searchspace == Searchspace(b=("INTEGER", [1, 2]))
    assert builder.children[1].children == tuple(r.box for r in builder.rows)


ROUND_TRIP = [
    Searchspace(kernel=("INTEGER", [2, 8]), pool=("INTEGER", [2, 8]), dropout=("DOUBLE", [0.01, 0.99])),
    Searchspace(lr=("DOUBLE", [1e-5, 0.1], "log"), units=("INTEGER", [8, 512], "log")),
    Searchspace(b=("DISCRETE", [16, 32.5]), c=("CATEGORICAL", ["leaky relu", "a,b", "3", 3, True, None])),
]


@pytest.mark.parametrize("space", ROUND_TRIP, ids=repr)
def test_round_trip_from_a_searchspace(space):
    builder = SearchspaceBuilder.from_searchspace(space)
    assert builder.searchspace == space and list(builder.searchspace) == list(space)
    assert [r.name.value for r in builder.rows] == list(space)
    assert SearchspaceBuilder(space).searchspace == space
    rebuilt = builder.searchspace
    rebuilt.add("extra", ("DOUBLE", [0, 1]))
    assert builder.searchspace == space  # .searchspace hands out a copy


def test_histogram_shows_the_edited_or_chosen_parameter():
    builder = SearchspaceBuilder(
        Searchspace(x=("DOUBLE", [0, 1]), act=("CATEGORICAL", ["relu", "tanh", "gelu"]))
    )
    assert builder.plot_choice.value == "x" and len(builder.bars.x) == 12 and sum(builder.bars.y) == 200
    frontend_sets(builder.plot_choice, index=1)
    assert list(builder.bars.x) == ["relu", "tanh", "gelu"] and sum(builder.bars.y) == 200
    frontend_sets(builder.rows[0].values, value="0, 5")  # editing a row shows that row
    assert builder.plot_choice.value == "x" and builder.figure.axes[0].label == "x (200 samples)"
    assert max(float(v) for v in builder.bars.x) > 4


def test_bars_update_in_one_message_when_a_row_changes():
    builder = SearchspaceBuilder(Searchspace(x=("DOUBLE", [0, 1])))
    frontend_sets(builder.rows[0].values, value="0, 1")
    sent = builder.bars.comm.messages
    sent.clear()
    frontend_sets(builder.rows[0].kind, index=builder.rows[0].kind.options.index("INTEGER"))
    assert list(builder.bars.x) == ["0", "1"]
    updates = [m for m in sent if m["method"] == "update"]
    assert len(updates) == 1 and {"x", "y"} <= set(updates[0]["state"])


def test_histogram_ticks_are_horizontal_and_spaced_so_they_never_overlap():
    from maggy_jupyter.builder.preview import tick_values

    builder = SearchspaceBuilder(Searchspace(lr=("DOUBLE", [1e-5, 1e-1], "log")))
    axis = builder.figure.axes[0]
    assert axis.tick_rotate == 0 and len(builder.bars.x) == 12
    assert list(axis.tick_values) == tick_values(list(builder.bars.x)) and len(axis.tick_values) < 12
    frontend_sets(builder.rows[0].kind, index=builder.rows[0].kind.options.index("CATEGORICAL"))
    frontend_sets(builder.rows[0].values, value="a, b")
    assert list(axis.tick_values) == ["a", "b"] == list(builder.bars.x)
    assert builder.bars.tooltip is not None  # every bar still tells its value on hover
