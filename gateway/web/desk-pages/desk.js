/* docket's web desk: the little the pages do in the browser. Everything
 * works without it; it only helps. Loaded from the desk itself, as the
 * Content-Security-Policy allows no inline script. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
	/* A form sent once: its button waits for the answer, so a second click
	 * does not send the reply twice. */
	document.querySelectorAll("form[method=post]").forEach(function (form) {
		form.addEventListener("submit", function () {
			form.querySelectorAll("button[type=submit]").forEach(function (b) {
				b.disabled = true;
			});
		});
	});

	/* The files chosen, listed under the input with their sizes. */
	document.querySelectorAll("input[type=file]").forEach(function (input) {
		var list = document.createElement("ul");
		list.className = "attachments";
		input.parentNode.insertAdjacentElement("afterend", list);
		input.addEventListener("change", function () {
			list.textContent = "";
			Array.prototype.forEach.call(input.files, function (f) {
				var item = document.createElement("li");
				item.textContent = f.name + " (" + Math.max(1, Math.round(f.size / 1024)) + " KiB)";
				list.appendChild(item);
			});
		});
	});

	/* "/" puts the cursor in the search box, as on most desks. */
	var search = document.getElementById("search");
	document.addEventListener("keydown", function (e) {
		var t = e.target.tagName;
		if (search && e.key === "/" && t !== "INPUT" && t !== "TEXTAREA" && t !== "SELECT") {
			e.preventDefault();
			search.focus();
		}
	});
});
