// The role chooser's behaviour, written for Rolecall's stand-in for AWS's /saml page, in both of
// its layouts: a click on a role's row picks its radio button, a click on an account folds its
// roles away or back (the legacy page), and "Sign In" posts the form once a role is picked.
// Today's page is a plain form whose button posts it without this script too.
function checkRadio(row) {
    "use strict";
    var radio = row.querySelector("input[type=radio]");
    if (radio) {
        radio.checked = true;
        showChoiceError("");
    }
}

function expandCollapse(index) {
    "use strict";
    var roles = document.getElementById(String(index));
    var arrow = document.getElementById("image" + index);
    if (!roles) {
        return;
    }
    var folded = roles.style.display === "none";
    roles.style.display = folded ? "" : "none";
    if (arrow) {
        arrow.className = folded ? "" : "folded";
    }
}

function showChoiceError(text) {
    "use strict";
    var label = document.getElementById("saml_error");
    if (label) {
        label.textContent = text;
    }
}

(function () {
    "use strict";
    var button = document.getElementById("signin_button");
    var form = document.getElementById("saml_form");
    if (!button || !form) {
        return;
    }
    button.addEventListener("click", function (event) {
        event.preventDefault();
        if (!form.querySelector("input[name=roleIndex]:checked")) {
            showChoiceError("Select a role to sign in with.");
            return;
        }
        form.submit();
    });
}());
