// The desk's only script besides htmx: confirmation dialogs, the upload progress bar and the
// tables' column names on their cells (a phone shows each row as a block: desk.css).
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
  }
  var closer = event.target.closest("[data-dialog-close]");
  if (closer) { event.preventDefault(); closer.closest("dialog").close(); }
});
document.addEventListener("htmx:xhr:progress", function (event) {
  var bar = document.getElementById("upload-progress");
  if (bar && event.detail.lengthComputable) {
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  }
});

// Each cell of a table gets its column's name (data-label), shown before it on a phone, and the
// table its roles, which a table shown as blocks would lose in some browsers.
function labelTables(root) {
  (root || document).querySelectorAll(".table-wrap table").forEach(function (table) {
    if (table.dataset.labelled) { return; }
    table.dataset.labelled = "1";
    var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.setAttribute("role", "table");
    table.querySelectorAll("thead, tbody, tfoot").forEach(function (g) { g.setAttribute("role", "rowgroup"); });
    var above = [];  // by column: how many more rows a cell above (rowspan) covers
    table.querySelectorAll("tr").forEach(function (tr) {
      tr.setAttribute("role", "row");
      var column = 0;
      Array.prototype.forEach.call(tr.children, function (cell) {
        while (above[column] > 0) { column += 1; }
        var span = cell.colSpan || 1;
        if (cell.tagName === "TH") {
          cell.setAttribute("role", cell.closest("thead") ? "columnheader" : "rowheader");
        } else {
          cell.setAttribute("role", "cell");
          if (span === 1 && names[column]) { cell.setAttribute("data-label", names[column]); }
        }
        for (var k = 0; k < span; k += 1) { above[column + k] = cell.rowSpan || 1; }
        column += span;
      });
      above = above.map(function (n) { return n > 0 ? n - 1 : 0; });
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { labelTables(document); });
document.addEventListener("htmx:load", function (event) { labelTables(event.target); });
