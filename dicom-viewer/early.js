// Starts the study's JSON request while the ES modules are still loading (a classic async script
// runs as soon as it arrives; main.js picks the response up through api.js). Saves one round of
// module loading on the way to the first image (a failed request is reported by main.js).
(function () {
  var study = new URLSearchParams(location.search).get('study');
  if (!study || !window.fetch) return;
  var url = new URL('api/studies/' + encodeURIComponent(study), document.currentScript.src).href;
  var response = fetch(url, { headers: { accept: 'application/json' } });
  response.catch(function () {}); // main.js reports failures; never an unhandled rejection
  window.hiehubEarlyStudy = { url: url, response: response };
})();
