// The stand-in for Duo's web script, written for Rolecall's AD FS simulator: when the frame
// (also the simulator's, same origin) says the person approved, add its sig_response to
// duo_form and submit it, as Duo's own script does with its frame's answer.
(function () {
    "use strict";
    window.addEventListener("message", function (event) {
        var frame = document.getElementById("duo_iframe");
        var form = document.getElementById("duo_form");
        if (event.origin !== window.location.origin || !frame || !form) {
            return;
        }
        if (event.source !== frame.contentWindow || !event.data || !event.data.sigResponse) {
            return;
        }
        var response = document.createElement("input");
        response.type = "hidden";
        response.name = "sig_response";
        response.value = String(event.data.sigResponse);
        form.appendChild(response);
        form.submit();
    });
}());
