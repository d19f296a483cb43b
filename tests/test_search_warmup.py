"""A search typed while the search index warms is asked again as the words of notes arrive.

After a load the index is built while the page is idle: names first, then the words of notes
and conversations. A search typed before the end answers from what is indexed so far. The test
holds the warm-up (its idle slices get no time) once it has begun, searches for a word that only
a conversation's notes hold, then lets the warm-up finish: the person shows without another
keystroke, the focus stays in the box and the page does not scroll.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import open_people, sign_in, until
from tests.test_conversations import new_id, push

pytestmark = pytest.mark.browser

# Idle callbacks get no time while held (the index's warm-up waits; anything asked with a
# timeout still runs when it expires); those of the warm-up are counted.
HOLD_IDLE = """
(() => {
  window.__holdIdle = true;
  window.__idleHeld = 0;
  const idle = window.requestIdleCallback.bind(window);
  window.requestIdleCallback = (callback, options) => idle((deadline) => {
    if (!window.__holdIdle) return callback(deadline);
    if (!options?.timeout) window.__idleHeld += 1;
    callback({ didTimeout: deadline.didTimeout, timeRemaining: () => 0 });
  }, options);
})();
"""


def test_a_search_typed_while_the_index_warms_finds_the_words_of_notes_without_a_keystroke(
    server, user, phone
):
    nadia = new_id()
    records = [("person", nadia, {"name": "Nadia Quill", "stage": "talked"})]
    records.append(
        (
            "conversation",
            new_id(),
            {"person_id": nadia, "kind": "call", "notes": "Her group grows photonic wafers."},
        )
    )
    # People found by name, enough to scroll: the note's match comes after them.
    records += [
        ("person", new_id(), {"name": f"Photon Person {i:02d}", "stage": "identified"})
        for i in range(30)
    ]
    push(server, user, records)
    page = phone.new_page()
    page.add_init_script(HOLD_IDLE)
    sign_in(page, server, user)
    # A start: the records read from the device, the index warmed from them while idle (a
    # sync's pages are indexed as they arrive instead).
    page.reload()
    until(page, "window.__idleHeld > 2", "the warm-up begun, and waiting")
    open_people(page)

    search = page.get_by_label("Search people")
    search.press_sequentially("photon")
    people = page.get_by_role("list", name="People")
    expect(people.locator("a.row")).to_have_count(30)
    expect(people).not_to_contain_text("Nadia Quill")  # names only, so far
    page.mouse.wheel(0, 400)
    until(page, "window.scrollY > 0", "the page scrolled")
    scrolled = page.evaluate("window.scrollY")

    page.evaluate("window.__holdIdle = false")
    expect(people.get_by_role("link", name="Nadia Quill")).to_be_visible()
    expect(people.locator("a.row")).to_have_count(31)
    expect(search).to_be_focused()
    expect(search).to_have_value("photon")
    assert page.evaluate("window.scrollY") == scrolled


# The start's load read slowly: no worker (the records are read on the page, a slice at a
# time), and after the first slice each is handed over only once released. On the first page
# of a tab where the session's `holdLoad` is set.
HOLD_LOAD = """
(() => {
  if (sessionStorage.getItem("holdLoad") !== "1") return;
  window.Worker = undefined;
  window.__loadHeld = true;
  window.__slicesRead = 0;
  const getAll = IDBObjectStore.prototype.getAll;
  IDBObjectStore.prototype.getAll = function (range, count) {
    const request = getAll.call(this, range, count);
    if (this.name !== "records" || !count) return request;
    window.__slicesRead += 1;
    if (window.__slicesRead === 1) return request;
    const held = { result: undefined, error: null, onsuccess: null, onerror: null };
    request.onsuccess = () => {
      held.result = request.result;
      const pass = () => (window.__loadHeld ? setTimeout(pass, 20) : held.onsuccess?.());
      pass();
    };
    request.onerror = () => {
      held.error = request.error;
      held.onerror?.();
    };
    return held;
  };
})();
"""


def test_a_search_typed_while_the_records_are_read_at_a_start_answers_from_those_read(
    server, user, phone
):
    """A 10,000-person network takes a slow phone seconds to read at a start. The search page
    does not wait for all of it ("Opening your network…" for 5 s): it answers from the
    records read so far, says more may be found, and finds the rest as they are read."""
    # Records are read in the order of their ids: Mira Early in the first slice, Mira Late
    # in the last, 600 others between.
    early = "00000000-0000-4000-8000-000000000001"
    late = "ffffffff-ffff-4fff-bfff-ffffffffffff"
    records = [
        ("person", early, {"name": "Mira Early", "stage": "talked"}),
        ("person", late, {"name": "Mira Late", "stage": "talked"}),
    ]
    records += [
        ("person", new_id(), {"name": f"Filler Person {i:03d}", "stage": "identified"})
        for i in range(600)
    ]
    push(server, user, records)
    page = phone.new_page()
    page.add_init_script(HOLD_LOAD)
    sign_in(page, server, user)
    page.evaluate("sessionStorage.setItem('holdLoad', '1')")
    page.reload()
    until(page, "window.__slicesRead >= 2", "the load begun, and held")

    page.get_by_role("search").get_by_role("searchbox").fill("mira")
    found = page.get_by_role("list", name="People found")
    expect(found.get_by_role("link", name="Mira Early")).to_be_visible()
    expect(found).not_to_contain_text("Mira Late")
    opening = page.get_by_text("Still opening your network: more may be found as it is read.")
    expect(opening).to_be_visible()
    expect(page.get_by_role("heading", name="Search")).to_be_visible()

    page.evaluate("window.__loadHeld = false")
    expect(found.get_by_role("link", name="Mira Late")).to_be_visible()
    expect(found.locator("a.row")).to_have_count(2)
    expect(opening).to_be_hidden()
    assert "q=mira" in page.url
