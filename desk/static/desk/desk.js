// The desk's only script besides htmx: confirmation dialogs and the upload progress bar.
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
