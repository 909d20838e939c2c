// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // "/" focuses the search box from anywhere that is not already a text field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    var box = document.querySelector("[data-shortcut='/']");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // A form sent back with mistakes puts the cursor in the first field marked wrong, so that a
  // keyboard user lands on it rather than at the top of the page, behind the whole menu.
  var wrong = document.querySelector(
    "form .field-error input:not([type=hidden]), form .field-error select, form .field-error textarea"
  );
  if (wrong) wrong.focus();

  // Forms with data-confirm ask before they submit (deleting, reassigning).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Buttons that only work with JavaScript ("Add a phone", "✕") stay hidden without it; the
  // form then always ends each group with an empty row instead.
  document.querySelectorAll("[data-add-row][hidden], [data-remove-row][hidden]").forEach(
    function (button) { button.hidden = false; }
  );

  // Adding, removing or clearing a row, or picking an organisation, changes the form as much
  // as typing does: say so, so that listeners such as the duplicate hints look again.
  function changed(element) {
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // "Add another" buttons clone the last row of a repeating group with empty values.
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var group = document.getElementById(add.getAttribute("data-add-row"));
      var rows = group.querySelectorAll("[data-row]");
      var template = rows[rows.length - 1];
      var copy = template.cloneNode(true);
      copy.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.type === "checkbox" || input.type === "radio") input.checked = false;
        else if (input.tagName === "SELECT") input.selectedIndex = 0;
        else input.value = "";
        if (input.id) input.id = input.id.replace(/\d+$/, String(rows.length));
      });
      copy.querySelectorAll(".errorlist").forEach(function (e) { e.remove(); });
      copy.classList.remove("field-error");
      group.appendChild(copy);
      // The new row's first field a person types in (the row starts with its hidden id).
      var first = copy.querySelector("input:not([type=hidden]), select");
      if (first) first.focus();
      changed(group);
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("[data-row]");
      var rowGroup = row.parentNode;
      var siblings = Array.prototype.slice.call(rowGroup.querySelectorAll("[data-row]"));
      // The cursor goes to the row before (or the one left), not to the top of the page with
      // the button it was on.
      var stays = siblings[siblings.indexOf(row) - 1] || siblings[1] || row;
      if (siblings.length > 1) row.remove();
      else row.querySelectorAll("input:not([type=hidden])").forEach(function (input) { input.value = ""; });
      var input = stays.querySelector("input:not([type=hidden]), select");
      if (input) input.focus();
      changed(rowGroup);
      return;
    }
    var pick = event.target.closest("[data-pick-id]");
    if (pick) {
      var lookup = pick.closest(".lookup");
      var box = lookup.querySelector("input[type=search]");
      lookup.querySelector("input[type=hidden]").value = pick.getAttribute("data-pick-id");
      box.value = pick.getAttribute("data-pick-label");
      lookup.querySelector(".lookup-results").innerHTML = "";
      // The picked suggestion is gone with the list: the cursor goes back to the box, so the
      // next Tab goes on to the following field instead of starting over at the top.
      box.focus();
      changed(box);
    }
  });

  // The organisation suggestions with the keys: Down from the box goes into the list, Up and
  // Down move along it (Up from the first back to the box), Escape closes it; Enter on one
  // picks it as a click does.
  document.addEventListener("keydown", function (event) {
    var lookup = event.target.closest && event.target.closest(".lookup");
    if (!lookup || !/^(ArrowDown|ArrowUp|Escape)$/.test(event.key)) return;
    var box = lookup.querySelector("input[type=search]");
    var list = lookup.querySelector(".lookup-results");
    var options = Array.prototype.slice.call(list.querySelectorAll("[data-pick-id]"));
    if (!options.length) return;
    var at = options.indexOf(event.target);
    event.preventDefault();
    if (event.key === "Escape") {
      list.innerHTML = "";
      box.focus();
    } else if (event.key === "ArrowDown") {
      options[Math.min(at + 1, options.length - 1)].focus();
    } else if (at > 0) {
      options[at - 1].focus();
    } else {
      box.focus();
    }
  });

  // Typing in the organisation box clears a previously picked organisation until a new one is
  // picked, so the visible text and the submitted id never disagree.
  document.addEventListener("input", function (event) {
    var lookup = event.target.closest(".lookup");
    if (lookup && event.target.type === "search") {
      lookup.querySelector("input[type=hidden]").value = "";
    }
  });

  // The sentence saying the database was busy (#page-alert, sent out of band with an answer
  // that swaps nothing) goes once a later request is answered: cleared before any answer is
  // swapped in, it is filled again only by one that found the database busy too. Otherwise a
  // page polling for progress kept saying so long after its polls went through again.
  document.addEventListener("htmx:beforeSwap", function () {
    var alert = document.getElementById("page-alert");
    if (alert) alert.replaceChildren();
  });
})();
