"""Waiting in the page for a condition, under the desk's CSP (script-src 'self').

Playwright's `page.wait_for_function` re-evaluates its predicate with `eval`
on every animation frame after the first; the desk's CSP refuses `eval`, so a
condition that is not already true on the first try fails with an EvalError
instead of being waited for. Here the predicate is compiled once, as part of
the function Playwright sends (which the CSP does not govern), and polled on
animation frames inside the page up to a deadline.
"""

from __future__ import annotations

from playwright.sync_api import Locator

_POLL = """(element) => new Promise((resolve) => {
  const test = %s;
  const end = performance.now() + %d;
  const next = () => {
    let ok = false;
    try { ok = Boolean(test(element)); } catch (error) { ok = false; }
    if (ok || performance.now() > end) { resolve(ok); } else { requestAnimationFrame(next); }
  };
  next();
})"""


def until(target: Locator, predicate: str, timeout_ms: int = 15_000) -> None:
    """Wait until the JavaScript function `predicate`, given the target's element, returns true."""
    ok = target.evaluate(_POLL % (predicate, timeout_ms))
    assert ok, f"not true within {timeout_ms} ms: {predicate}"
