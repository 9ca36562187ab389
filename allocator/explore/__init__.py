"""The weight explorer: a local web page on which a planner moves the weights and watches the
allocation move (``allocator explore MODEL``).

* :mod:`~allocator.explore.session` what the page asks for, in library words: the page's
  settings checked like the command line's, the weights rebalanced (:func:`rebalance`), each
  allocation computed by :func:`allocator.pipeline.allocate.allocate` and described for the page;
* :mod:`~allocator.explore.views` an allocation, its report tables, a unit's waterfall and the
  Monte Carlo bands as plain JSON values for the page;
* :mod:`~allocator.explore.scenario` "save scenario": a model file and its report folder;
* :mod:`~allocator.explore.server` the local web server: loopback only, a token on every
  request, foreign ``Origin`` and ``Host`` headers refused;
* ``static/`` the page (HTML, CSS, JavaScript without a build step) and the vendored ECharts.

The page never computes an allocation: every number it shows comes from the library.
"""
