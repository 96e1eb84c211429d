// System > Mail Log's live tail: an EventSource on the page's event stream appends each new line to
// the list (a role="log" live region), keeping at most MOST_SHOWN lines and following the bottom.
(function () {
  "use strict";
  var MOST_SHOWN = 2000;
  var list = document.getElementById("log-lines");
  var view = document.getElementById("log-view");
  var status = document.getElementById("live-status");
  if (!list || !view || !window.EventSource) {
    return;
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function append(text, marker) {
    var atBottom = view.scrollTop + view.clientHeight >= view.scrollHeight - 4;
    var item = document.createElement("li");
    item.textContent = text;
    if (marker) {
      item.className = "marker";
    }
    list.appendChild(item);
    while (list.children.length > MOST_SHOWN) {
      list.removeChild(list.firstElementChild);
    }
    var empty = document.getElementById("no-lines");
    if (empty) {
      empty.remove();
    }
    if (atBottom) {
      view.scrollTop = view.scrollHeight;
    }
  }

  view.scrollTop = view.scrollHeight;
  var source = new EventSource(list.dataset.events);
  source.onopen = function () {
    say("Live: new matching lines appear at the bottom as they are logged.");
  };
  source.onmessage = function (event) {
    append(event.data, false);
  };
  source.addEventListener("skipped", function (event) {
    append(event.data, true);
  });
  source.addEventListener("end", function (event) {
    source.close();
    append(event.data, true);
    say("The live tail ended: reload the page once the sandbox runs again.");
  });
  source.onerror = function () {
    say(source.readyState === EventSource.CLOSED
      ? "The live tail stopped: reload the page (you may need to log in again)."
      : "The live tail lost its connection; trying again...");
  };
}());
