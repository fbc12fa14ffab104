// Pages and filters the report's lists (.list): their items (.item) carry data-search and one
// data-* per facet; the controls name the facet they filter. A link to an item (#p3) shows the
// page it is on and opens it. Nothing is fetched: the page works offline.
(function () {
  "use strict";
  function setUp(list) {
    var items = Array.prototype.slice.call(list.querySelectorAll(".item"));
    var controls = list.querySelector(".controls");
    var size = Number(list.getAttribute("data-page-size")) || 25;
    var query = controls.querySelector(".q");
    var prev = controls.querySelector(".prev");
    var next = controls.querySelector(".next");
    var where = controls.querySelector(".where");
    var shown = items;
    var page = 0;
    controls.hidden = false;

    function matches(item) {
      var q = query.value.trim().toLowerCase();
      if (q && item.getAttribute("data-search").toLowerCase().indexOf(q) < 0) return false;
      var selects = controls.querySelectorAll("select");
      for (var i = 0; i < selects.length; i++) {
        var s = selects[i];
        if (s.value && item.getAttribute("data-" + s.name) !== s.value) return false;
      }
      var boxes = controls.querySelectorAll("input[type=checkbox]");
      for (var j = 0; j < boxes.length; j++) {
        if (boxes[j].checked && item.getAttribute("data-" + boxes[j].name) !== "yes") return false;
      }
      return true;
    }
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / size));
      page = Math.max(0, Math.min(page, pages - 1));
      items.forEach(function (item) { item.hidden = true; });
      shown.slice(page * size, (page + 1) * size).forEach(function (item) { item.hidden = false; });
      var total = shown.length < items.length ? " (of " + items.length + ")" : "";
      where.textContent = shown.length === 0 ? "nothing matches" :
        (page * size + 1) + "–" + Math.min(shown.length, (page + 1) * size) + " of " + shown.length + total;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    function filter() { shown = items.filter(matches); page = 0; draw(); }
    controls.addEventListener("input", filter);
    controls.addEventListener("change", filter);
    prev.addEventListener("click", function () { page -= 1; draw(); });
    next.addEventListener("click", function () { page += 1; draw(); });
    list.reveal = function (item) {
      if (shown.indexOf(item) < 0) {
        query.value = "";
        controls.querySelectorAll("select").forEach(function (s) { s.value = ""; });
        controls.querySelectorAll("input[type=checkbox]").forEach(function (b) { b.checked = false; });
        shown = items;
      }
      page = Math.floor(shown.indexOf(item) / size);
      draw();
    };
    filter();
  }
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    var item = target.closest(".item");
    var list = target.closest(".list");
    if (item && list && list.reveal) {
      list.reveal(item);
      if (item.tagName === "DETAILS") item.open = true;
    }
    target.scrollIntoView();
  }
  document.querySelectorAll(".list").forEach(setUp);
  window.addEventListener("hashchange", reveal);
  reveal();
})();
