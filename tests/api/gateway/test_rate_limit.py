from api.gateway.rate_limit import SlidingWindowLimiter


def test_window_slides_so_old_messages_stop_counting():
    limiter = SlidingWindowLimiter(limit=2, window_seconds=60)
    assert limiter.allow("c", now=0) and limiter.allow("c", now=10)
    assert not limiter.allow("c", now=59.9)
    assert limiter.allow("c", now=60.0)  # the first hit has left the window
    assert limiter.allow("other", now=60.0)  # sessions are counted separately
