// The Threat Defense portal's one enhancement: a Copy button beside each message intake address
// (without scripts the read-only field is there to select and copy by hand, so the button is added here).
"use strict";
document.querySelectorAll("input.copyable").forEach((field) => {
  const button = document.createElement("button");
  const status = document.createElement("span");
  button.type = "button";
  button.className = "secondary copy";
  button.id = field.id + "-copy";
  button.textContent = "Copy";
  button.setAttribute("aria-label", "Copy " + field.labels[0].textContent.replace(/\s+/g, " ").trim());
  status.className = "copied";
  status.id = field.id + "-status";
  status.setAttribute("role", "status");
  button.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Copied";
    } catch (refused) {
      status.textContent = "Selected: press Ctrl+C to copy";
    }
  });
  field.after(button, status);
});
