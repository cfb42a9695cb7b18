/* The applicant's page without a full reload. Served by Reslot itself (CSP script-src
   'self'); the page works without it: its forms post and are answered 303 to the page,
   which reloads itself until the scheduler's answer is in.

   With it: a form is posted with fetch asking for JSON, the scheduler's answer to the event
   it published is polled, then the page's <main> is swapped for the page showing it. */
(function () {
  "use strict";
  var POLL_MS = 400;
  var GIVE_UP_MS = 60000;

  function root() { return document.getElementById("reply"); }

  function say(text, tone) {
    var said = document.getElementById("said");
    if (!said) { return; }
    said.textContent = text;
    said.className = "said " + tone;
  }

  function busy(on) {
    var buttons = root().querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = on; }
  }

  function sleep(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }

  async function swap(url) {
    var response = await fetch(url, {headers: {Accept: "text/html"}, credentials: "same-origin"});
    var doc = new DOMParser().parseFromString(await response.text(), "text/html");
    var fresh = doc.getElementById("reply") || doc.getElementById("notice");
    if (!fresh) { window.location.assign(url); return; }
    (root() || document.getElementById("notice")).replaceWith(document.adoptNode(fresh));
    window.history.replaceState(null, "", url);
    bind();
  }

  async function poll(answerUrl) {
    var started = Date.now();
    while (Date.now() - started < GIVE_UP_MS) {
      var response = await fetch(answerUrl, {headers: {Accept: "application/json"},
                                             credentials: "same-origin"});
      if (response.ok) {
        var answer = await response.json();
        if (answer.state !== "pending") { await swap(answer.page); return; }
      }
      await sleep(POLL_MS);
    }
    say(root().dataset.slowText, "wait");
  }

  async function submit(event) {
    var form = event.target;
    var here = root();
    event.preventDefault();
    var data = new URLSearchParams(new FormData(form, event.submitter));
    busy(true);
    say(here.dataset.pendingText, "wait");
    try {
      var response = await fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: {Accept: "application/json"}});
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("application/json") === -1) {  // a notice page (e.g. a stale form)
        var doc = new DOMParser().parseFromString(await response.text(), "text/html");
        document.body.replaceWith(document.adoptNode(doc.body));
        return;
      }
      var sent = await response.json();
      if (sent.answer) { await poll(sent.answer); } else { await swap(sent.page); }
    } catch (error) {
      say(here.dataset.failedText, "warn");
      busy(false);
    }
  }

  function bind() {
    var here = root();
    if (!here) { return; }
    var forms = here.querySelectorAll("form.act");
    for (var i = 0; i < forms.length; i++) { forms[i].addEventListener("submit", submit); }
    if (here.dataset.pending) {  // opened on an answer not yet in: poll it
      poll(here.dataset.answer + "?event=" + encodeURIComponent(here.dataset.pending));
    }
  }

  document.addEventListener("DOMContentLoaded", bind);
}());
