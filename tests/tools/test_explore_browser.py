"""minigrad.explore's page in a real browser: headless Chromium driven by selenium.

The page loads without a console error; stepping shows the forward pass, then
the gradients in the engine's order (`minigrad.backward_order`), with the
numbers backward computed; clicking a weight highlights the nodes `explain`
finds; hostile names stay text.  `make test` installs Debian's chromium and
chromium-driver (scripts/ensure-browser.sh) and selenium (the `test` extra);
elsewhere these tests skip, saying what is missing, and under CI they fail.
"""

import os
import time
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # headless Chromium

import minigrad as mg
from minigrad import nn
from minigrad.tools.explain import explain, graph_names

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    missing = None
except ImportError:
    missing = "selenium is not installed (pip install -e '.[test]')"
if missing is None and not (CHROMIUM and CHROMEDRIVER):
    missing = "headless Chromium is not installed (Debian: apt-get install chromium chromium-driver; `make test` does it)"
if missing is None and shutil.which("dot") is None:
    missing = "graphviz's dot program is not installed"
if missing is not None:
    if os.environ.get("CI"):  # CI's `make test` installs them, so there a skip would hide the page's tests
        raise RuntimeError(f"CI is set but {missing}")
    pytest.skip(missing, allow_module_level=True)

HOSTILE = '<img src=x onerror="window.__pwned=1">'
CLOSER = "</script><script>window.__pwned=2</script>"


@pytest.fixture(scope="module")
def driver():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900",
                     "--disable-gpu", "--no-first-run"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("pages")


def chapter_net(scalar=True):
    net, inputs, desired = nn.example_network([2, 2, 2], scalar=scalar)
    return net, net.loss(inputs, desired)


def open_page(driver, folder, name, loss, **options):
    path = folder / f"{name}.html"
    mg.explore(loss, **options).save(path)
    driver.get_log("browser")  # forget what earlier pages said
    driver.get(path.as_uri())
    return path


def console(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def text_of(driver, selector):
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e && e.textContent;",
                                 selector)


def highlighted_names(driver):
    return set(driver.execute_script(
        "return Array.from(document.querySelectorAll('g.node.mg-path[data-node] > title'), t => t.textContent);"))


def test_the_page_loads_without_console_errors_and_drives_from_its_handle(driver, folder):
    net, loss = chapter_net()
    open_page(driver, folder, "scalar", loss, params=net)
    assert console(driver) == []
    state = driver.execute_script("return window.explorer.state();")
    assert state == {"mode": "reverse", "step": 0, "total": 42, "phase": "forward", "node": None}
    assert driver.execute_script("return Object.keys(window.explorer).sort();") == \
        ["back", "end", "reset", "select", "state", "step"]
    assert driver.execute_script("return window.explorer.end();")["step"] == 42
    assert driver.execute_script("return window.explorer.step();")["step"] == 42  # stays at the end
    assert driver.execute_script("return window.explorer.reset();")["step"] == 0
    assert driver.execute_script("return window.explorer.back();")["step"] == 0
    assert console(driver) == []


def test_stepping_shows_forward_then_the_engines_backward_order_and_its_gradients(driver, folder):
    net, loss = chapter_net()
    names = graph_names(loss, {value: name for name, value in net.named_parameters()})
    open_page(driver, folder, "steps", loss, params=net)
    forward = [node for node in mg.topological_order(loss) if node.op is not None]
    backward = mg.backward_order(loss)
    expected = [("forward", node) for node in forward] + [("backward", node) for node in backward]
    for number, (phase, node) in enumerate(expected, start=1):
        state = driver.execute_script("return window.explorer.step();")
        assert state == {"mode": "reverse", "step": number, "total": len(expected), "phase": phase, "node": names[node]}
        assert text_of(driver, "#mg-step-panel h2") == names[node]
        if phase == "forward":
            assert text_of(driver, "#mg-step-panel .mg-result") == f"{node.data:.6g}"
        else:
            # The gradient the node hands on is backward's own number, in the panel and in the drawing.
            assert text_of(driver, "#mg-step-panel .mg-incoming .mg-result") == f"{node.grad:.6g}"
            shown = driver.execute_script(
                "return Array.from(document.querySelectorAll('g.mg-current text.mg-grad'), t => t.textContent);")
            assert shown == [f"grad {node.grad:.4g}"]
    # At the end every parameter shows its gradient, none partial.
    for name, value in net.named_parameters():
        texts = driver.execute_script(
            "const g = Array.from(document.querySelectorAll('g[data-node]')).find(g => "
            "g.querySelector('title').textContent === arguments[0]);"
            "return Array.from(g.querySelectorAll('text.mg-grad'), t => [t.textContent, t.classList.contains("
            "'mg-partial'), getComputedStyle(t).visibility]);", name)
        assert texts == [[f"grad {value.grad:.4g}", False, "visible"]]
    assert console(driver) == []


def test_keys_and_buttons_step_and_a_gradient_is_hidden_until_it_arrives(driver, folder):
    net, loss = chapter_net()
    open_page(driver, folder, "keys", loss, params=net)
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    body.send_keys(Keys.ARROW_RIGHT)
    assert driver.execute_script("return window.explorer.state().step;") == 2
    body.send_keys(Keys.ARROW_LEFT)
    assert driver.execute_script("return window.explorer.state().step;") == 1
    body.send_keys(Keys.END)
    assert driver.execute_script("return window.explorer.state().step;") == 42
    body.send_keys(Keys.HOME)
    assert driver.execute_script("return window.explorer.state().step;") == 0
    driver.find_element(By.ID, "mg-step").click()
    assert driver.execute_script("return window.explorer.state().step;") == 1
    driver.find_element(By.ID, "mg-back").click()
    assert driver.execute_script("return window.explorer.state().step;") == 0
    # Before backward reaches it, a weight's gradient is not shown; after, it is.
    hidden = ("return Array.from(document.querySelectorAll('g[data-kind=parameter] text.mg-grad'))"
              ".every(t => getComputedStyle(t).visibility === 'hidden');")
    assert driver.execute_script(hidden)
    driver.execute_script("window.explorer.end();")
    assert driver.execute_script(hidden.replace("every", "some")) is False


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_clicking_a_weight_highlights_the_paths_explain_finds(driver, folder, scalar):
    net, loss = chapter_net(scalar=scalar)
    parameters = dict(net.named_parameters())
    names = graph_names(loss, {value: name for name, value in parameters.items()})
    open_page(driver, folder, f"click-{scalar}", loss, params=net)
    name = "w[0,1]" if scalar else "w"
    group = next(element for element in driver.find_elements(By.CSS_SELECTOR, "g[data-kind=parameter]")
                 if element.find_element(By.TAG_NAME, "title").get_attribute("textContent") == name)
    group.click()
    explanation = explain(loss, parameters[name], None if scalar else (0, 0))
    assert highlighted_names(driver) == {names[node] for node in explanation.nodes}
    assert text_of(driver, "#mg-explain-panel .mg-total") == f"{explanation.total:.12g}"
    assert text_of(driver, "#mg-explain-panel .mg-grad-value") == f"{explanation.grad:.12g}"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#mg-explain-panel .mg-path-title")) == len(explanation.paths)
    if not scalar:  # another element of the tensor, chosen by name
        assert driver.execute_script("return window.explorer.select('v[1,0]');") is True
        other = explain(loss, parameters["v"], (1, 0))
        assert highlighted_names(driver) == {names[node] for node in other.nodes}
        assert text_of(driver, "#mg-explain-panel .mg-total") == f"{other.total:.12g}"
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    assert highlighted_names(driver) == set()
    assert console(driver) == []


def test_hostile_names_show_as_text_and_run_nothing(driver, folder):
    a = mg.Value(2.0, name=HOSTILE)
    b = mg.Value(3.0, name=CLOSER)
    loss = (a * b).tanh()
    loss.name = "<b>loss</b>"
    open_page(driver, folder, "hostile", loss)
    assert driver.execute_script("return typeof window.__pwned;") == "undefined"
    inert = ("return document.querySelectorAll('img').length === 0 && document.scripts.length === 2 && "
             "Array.from(document.querySelectorAll('*')).every(e => "
             "Array.from(e.attributes).every(a => !a.name.startsWith('on')));")
    assert driver.execute_script(inert)
    driver.execute_script("window.explorer.end();")
    assert driver.execute_script(f"return window.explorer.select({HOSTILE!r});") is True
    panel = driver.find_element(By.ID, "mg-panel").get_attribute("textContent")
    assert HOSTILE in panel and CLOSER in panel and "∂<b>loss</b>/∂" in panel
    titles = driver.execute_script("return Array.from(document.querySelectorAll('g > title'), t => t.textContent);")
    assert HOSTILE in titles and CLOSER in titles
    for _ in range(3):
        driver.execute_script("window.explorer.back();")
    assert driver.execute_script("return typeof window.__pwned;") == "undefined"
    assert driver.execute_script(inert)
    assert console(driver) == []


def test_a_big_graph_shows_the_summary_at_once(driver, folder):
    x = mg.Value(np.linspace(0.0, 1.0, 5), name="x")
    loss = mg.Value(0.0)
    for k in range(200):
        loss = loss + (x * float(k)).sum()
    open_page(driver, folder, "big", loss)
    assert driver.execute_script("return window.explorer.step();") == {"mode": "reverse", "step": 0, "total": 0, "phase": "forward",
                                                                        "node": None}
    note = driver.find_element(By.ID, "mg-note")
    assert note.is_displayed() and "more than max_nodes=300" in note.text
    assert driver.find_element(By.ID, "mg-step").get_attribute("disabled") is not None
    assert console(driver) == []


# -- forward mode and both side by side (issue 21) ------------------------------------------------------


def viewport(driver, width=1400, height=900):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def forward_mode_derivative(net, inputs, desired, name, index):
    """∂SSE/∂(one element of a tensor parameter) by mg.jvp: one forward sweep with a one-hot tangent."""
    parameters = dict(net.named_parameters())
    names = list(parameters)
    primals = tuple(parameters[key].data for key in names)
    tangents = tuple(np.zeros_like(parameters[key].data) for key in names)
    tangents[names.index(name)][index] = 1.0

    def loss(*values):
        w, bias_hidden, v, bias_output = (values[names.index(key)] for key in ("w", "bias_hidden", "v", "bias_output"))
        hidden = (inputs @ w + bias_hidden).sigmoid(net.alpha)
        return mg.sse(desired, (hidden @ v + bias_output).sigmoid(net.alpha))

    _, tangent = mg.jvp(loss, primals, tangents)
    return float(tangent)


def table_cells(driver, column):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#mg-sweeps tr[data-row] td:nth-child(' + arguments[0] + ')'),"
        " td => td.textContent);", column)


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_both_modes_step_side_by_side_and_end_on_jvps_and_grads_number(driver, folder, scalar):
    net, inputs, desired = nn.example_network([2, 2, 2], scalar=scalar)
    loss = net.loss(inputs, desired)
    open_page(driver, folder, f"both-{scalar}", loss, params=net, mode="both")
    assert console(driver) == []
    forward = [node for node in mg.topological_order(loss) if node.op is not None]
    backward = mg.backward_order(loss)
    total = len(forward) + len(backward)
    state = driver.execute_script("return window.explorer.state();")
    assert state == {"mode": "both", "step": 0, "total": total, "phase": "forward", "node": None,
                     "weight": "v[0,0]", "forwardResult": None, "reverseResult": None}
    for number in range(1, total + 1):
        state = driver.execute_script("return window.explorer.step();")
        assert state["step"] == number and state["total"] == total
        tangents = [text for text in table_cells(driver, 2) if text]
        grads = [text for text in table_cells(driver, 3) if text]
        if number <= len(forward):
            # the forward sweep: one more tangent each step (the weight's row first), no gradient yet
            assert state["phase"] == "forward" and len(tangents) == number + 1 and grads == []
            assert (state["forwardResult"] is None) == (number < len(forward))
        else:
            # the backward pass: every tangent stays, the gradients arrive from the loss back
            assert state["phase"] == "backward" and len(tangents) == len(forward) + 1 and len(grads) >= 1
        assert state["reverseResult"] is None or number > len(forward)
    assert state["forwardResult"] is not None and state["reverseResult"] is not None
    tensor = nn.example_network([2, 2, 2], scalar=False)[0] if scalar else net  # the same numbers
    expected = forward_mode_derivative(tensor, inputs, desired, "v", (0, 0))
    grad = net.v[0][0].grad if scalar else net.v.grad[0, 0]
    assert state["forwardResult"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert state["reverseResult"] == pytest.approx(grad, rel=1e-12, abs=1e-15)
    assert text_of(driver, "#mg-sweeps .mg-agree").startswith("the same number")
    assert console(driver) == []


def test_picking_another_weight_and_the_cost_ledger(driver, folder):
    net, inputs, desired = nn.example_network([2, 2, 2])
    loss = net.loss(inputs, desired)
    open_page(driver, folder, "both-pick", loss, params=net, mode="both")
    assert driver.execute_script("return window.explorer.select('w[1,0]');") is True
    state = driver.execute_script("return window.explorer.end();")
    assert state["weight"] == "w[1,0]"
    assert state["forwardResult"] == pytest.approx(forward_mode_derivative(net, inputs, desired, "w", (1, 0)),
                                                   rel=1e-12, abs=1e-15)
    assert state["reverseResult"] == pytest.approx(net.w.grad[1, 0], rel=1e-12, abs=1e-15)
    ledger = driver.execute_script(
        "return Array.from(document.querySelectorAll('#mg-sweeps .mg-ledger tr'), tr => "
        "Array.from(tr.children, td => td.textContent));")
    assert ledger[1] == ["sweeps", "12 (one per parameter)", "1 (after the forward pass)"]
    assert console(driver) == []


def test_forward_mode_alone_has_no_backward_pass(driver, folder):
    net, inputs, desired = nn.example_network([2, 2, 2], scalar=True)
    loss = net.loss(inputs, desired)
    open_page(driver, folder, "forward", loss, params=net, mode="forward")
    forward = [node for node in mg.topological_order(loss) if node.op is not None]
    state = driver.execute_script("return window.explorer.end();")
    assert state["mode"] == "forward" and state["total"] == len(forward) and state["phase"] == "forward"
    assert state["reverseResult"] is None and state["forwardResult"] == pytest.approx(net.v[0][0].grad, rel=1e-12)
    # the graph shows each node's tangent in its box: the weight's is 1, the loss's the result
    shown = driver.execute_script("return Array.from(document.querySelectorAll('g.mg-weight text.mg-tangent'), "
                                  "t => t.textContent);")
    assert shown == ["ẋ 1"]
    assert console(driver) == []


@pytest.mark.parametrize("mode", ["reverse", "both"])
def test_the_whole_graph_fits_the_window_when_the_page_opens(driver, folder, mode):
    viewport(driver)
    try:
        net, inputs, desired = nn.example_network([2, 2, 2], scalar=True)
        open_page(driver, folder, f"fit-{mode}", net.loss(inputs, desired), params=net, mode=mode)
        graph, box = driver.execute_script(
            "const s = document.querySelector('#mg-graph svg').getBoundingClientRect();"
            "const g = document.getElementById('mg-graph').getBoundingClientRect();"
            "return [[s.left, s.top, s.right, s.bottom], [g.left, g.top, g.right, g.bottom]];")
        assert graph[0] >= box[0] and graph[1] >= box[1] and graph[2] <= box[2] and graph[3] <= box[3]
        if mode == "both":  # the side-by-side results and the ledger are on screen, not scrolled away
            for selector in ("#mg-sweeps .mg-results", "#mg-sweeps .mg-ledger"):
                bottom = driver.execute_script(
                    "return document.querySelector(arguments[0]).getBoundingClientRect().bottom;", selector)
                assert bottom <= 900
        screenshots = os.environ.get("MINIGRAD_SCREENSHOTS")
        if screenshots:  # look at them: both views readable at 1400×900
            driver.execute_script("for (let k = 0; k < 12; k++) window.explorer.step();")
            driver.save_screenshot(os.path.join(screenshots, f"explore-{mode}-1400x900.png"))
            driver.execute_script("window.explorer.end();")
            driver.save_screenshot(os.path.join(screenshots, f"explore-{mode}-end-1400x900.png"))
        assert console(driver) == []
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


FIT = """
const box = document.getElementById('mg-graph'), svg = box.querySelector('svg'), style = getComputedStyle(box);
const width = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
const height = box.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
const view = svg.viewBox.baseVal, drawn = svg.getBoundingClientRect();
return {width, height, svgWidth: drawn.width, svgHeight: drawn.height, natural: view.width * 4 / 3,
        scrolls: box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight};
"""


def _fitted(fit):
    return (not fit["scrolls"] and fit["svgWidth"] <= fit["width"] + 0.5 and fit["svgHeight"] <= fit["height"] + 0.5
            and (fit["svgWidth"] >= fit["width"] - 2 or fit["svgHeight"] >= fit["height"] - 2
                 or abs(fit["svgWidth"] - fit["natural"]) <= 1))


def assert_fits(driver, shot=None):
    # NOTE: the page fits the graph once it is laid out; on a loaded machine that can come a moment
    # after the page reports loaded, so the test waits up to 5 s for it before asserting.
    deadline = time.monotonic() + 5.0
    fit = driver.execute_script(FIT)
    while not _fitted(fit) and time.monotonic() < deadline:
        time.sleep(0.1)
        fit = driver.execute_script(FIT)
    assert not fit["scrolls"], fit
    assert fit["svgWidth"] <= fit["width"] + 0.5 and fit["svgHeight"] <= fit["height"] + 0.5, fit
    # Fitted, not merely small: one side fills its room, or the graph is at 1:1.
    assert (fit["svgWidth"] >= fit["width"] - 2 or fit["svgHeight"] >= fit["height"] - 2
            or abs(fit["svgWidth"] - fit["natural"]) <= 1), fit
    if shot is not None:
        driver.save_screenshot(str(shot))
    return fit


@pytest.mark.parametrize("sizes, scalar", [((2, 2, 2), True), ((4, 5, 3), True), ((2, 2, 2), False)],
                         ids=["chapter weight by weight", "4-5-3 weight by weight", "chapter as tensors"])
def test_the_graph_fits_the_window_when_the_page_opens(driver, folder, sizes, scalar):
    # Issue 19: the page opened fitting the graph's short side, so a wide graph scrolled sideways.
    driver.set_window_size(1400, 900)
    net, inputs, desired = nn.example_network(list(sizes), scalar=scalar)
    open_page(driver, folder, f"fit-{'-'.join(map(str, sizes))}-{scalar}", net.loss(inputs, desired), params=net)
    assert_fits(driver, folder / f"fit-{'-'.join(map(str, sizes))}-{scalar}.png")
    assert console(driver) == []


def test_the_graph_is_refitted_on_resize_until_the_reader_zooms(driver, folder):
    net, loss = chapter_net()
    driver.set_window_size(1400, 900)
    open_page(driver, folder, "resize", loss, params=net)
    wide = assert_fits(driver)
    driver.set_window_size(1000, 700)
    narrow = assert_fits(driver)
    assert narrow["svgWidth"] < wide["svgWidth"]
    driver.find_element(By.ID, "mg-zoom-in").click()
    driver.find_element(By.ID, "mg-zoom-in").click()
    assert driver.execute_script(FIT)["scrolls"]  # zoomed in: the reader's choice, kept on resize
    driver.set_window_size(1100, 750)
    assert driver.execute_script(FIT)["scrolls"]
    driver.find_element(By.ID, "mg-zoom-fit").click()
    assert_fits(driver)
    driver.set_window_size(1400, 900)
    assert console(driver) == []
