/* gradcheck report: filters on the index, copy buttons and heatmap read-outs on failure pages.
   Plain DOM code, no libraries, nothing fetched. The page is complete without it. */
(function () {
  "use strict";

  function layersOf(el) {
    try { return JSON.parse(el.getAttribute("data-layers") || "[]"); } catch (e) { return []; }
  }

  function setupFilters(form) {
    var outcome = form.elements.namedItem("outcome");
    var layer = form.elements.namedItem("layer");
    var shown = form.elements.namedItem("shown");
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
    var cells = Array.prototype.slice.call(document.querySelectorAll("td.cell[data-outcome]"));

    function apply(updateHash) {
      var o = outcome.value, l = layer.value, rows = 0, visible = 0;
      items.forEach(function (el) {
        var outs = (el.getAttribute("data-outcomes") || "").split(" ");
        var okLayer = !l || layersOf(el).indexOf(l) >= 0;
        var okOutcome = !o || outs.indexOf(o) >= 0;
        el.hidden = !(okLayer && okOutcome);
        if (el.classList.contains("layer-row")) { rows += 1; if (!el.hidden) { visible += 1; } }
      });
      cells.forEach(function (td) {
        td.classList.toggle("dim", !!o && td.getAttribute("data-outcome") !== o);
      });
      if (shown) { shown.value = (o || l) ? visible + " of " + rows + " layers shown" : ""; }
      if (updateHash && window.history && history.replaceState) {
        var params = new URLSearchParams();
        if (o) { params.set("outcome", o); }
        if (l) { params.set("layer", l); }
        history.replaceState(null, "", params.toString() ? "#" + params.toString() : location.pathname);
      }
    }

    function fromHash() {
      var params = new URLSearchParams(location.hash.replace(/^#/, ""));
      [[outcome, params.get("outcome")], [layer, params.get("layer")]].forEach(function (pair) {
        var select = pair[0], value = pair[1];
        if (value !== null && Array.prototype.some.call(select.options, function (op) { return op.value === value; })) {
          select.value = value;
        }
      });
    }

    form.addEventListener("change", function () { apply(true); });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    window.addEventListener("hashchange", function () { fromHash(); apply(false); });
    fromHash();
    apply(false);
  }

  function setupCopy(button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var text = source ? source.textContent : "";
      function done(ok) { button.textContent = ok ? "copied" : "select and copy"; }
      function selectText() {
        var range = document.createRange();
        range.selectNodeContents(source);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { done(true); },
                                                 function () { selectText(); done(false); });
      } else {
        selectText();
        done(false);
      }
    });
  }

  // The full index of cell (r, c): the slice's template with its free axes (null) filled in.
  function fillIndex(template, r, c) {
    var free = template.filter(function (t) { return t === null; }).length;
    var fill = free === 2 ? [r, c] : [c];
    var k = 0;
    return template.map(function (t) { return t === null ? fill[k++] : t; });
  }

  function setupHeatmap(figure) {
    var img = figure.querySelector("img.heatmap");
    var out = figure.querySelector(".readout");
    var rows = +figure.getAttribute("data-rows"), cols = +figure.getAttribute("data-cols");
    var tensor = figure.getAttribute("data-tensor") || "";
    var ndim = +figure.getAttribute("data-ndim");
    var prefix = [], template = null, cells = null;
    try { prefix = JSON.parse(figure.getAttribute("data-prefix") || "[]"); } catch (e) { prefix = []; }
    try { template = JSON.parse(figure.getAttribute("data-template") || "null"); } catch (e) { template = null; }
    try { cells = JSON.parse(figure.getAttribute("data-cells") || "null"); } catch (e) { cells = null; }
    if (!img || !out) { return; }
    img.addEventListener("mousemove", function (ev) {
      var box = img.getBoundingClientRect();
      var c = Math.min(cols - 1, Math.max(0, Math.floor((ev.clientX - box.left) / box.width * cols)));
      var r = Math.min(rows - 1, Math.max(0, Math.floor((ev.clientY - box.top) / box.height * rows)));
      var index = template ? fillIndex(template, r, c) :
        ndim === 0 ? [] : ndim === 1 ? [c] : prefix.concat([r, c]);
      var text = tensor + "[" + index.join(", ") + "]";
      var cell = cells && cells[r * cols + c];
      if (cell) { text += "  layer " + cell[0] + "  oracle " + cell[1] + "  diff " + cell[2]; }
      out.textContent = text;
    });
  }

  var form = document.getElementById("filters");
  if (form) { setupFilters(form); }
  Array.prototype.forEach.call(document.querySelectorAll("button.copy[data-copy]"), setupCopy);
  Array.prototype.forEach.call(document.querySelectorAll("figure.heat"), setupHeatmap);
}());
