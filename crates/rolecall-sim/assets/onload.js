// The sign-in page's behaviour, written for Rolecall's AD FS simulator: check the fields the way
// AD FS does, show what is missing in #errorText, and submit loginForm with its own method (a
// form without one goes as GET, as any browser sends it). The markup calls
// Login.submitLoginRequest() on a click or Space on "Sign in" and on Enter anywhere in the form.
var Login = (function () {
    "use strict";

    var userNameMissing = "Enter your user ID in the format domain\\user or user@domain.";
    var passwordMissing = "Enter your password.";

    function element(id) {
        return document.getElementById(id);
    }

    function showError(text, field) {
        var label = element("errorText");
        if (label) {
            label.textContent = text;
        }
        if (field) {
            field.focus();
        }
    }

    function submitLoginRequest() {
        var form = element("loginForm");
        var userName = element("userNameInput");
        var password = element("passwordInput");
        if (!form) {
            return false;
        }
        if (userName && userName.value.trim() === "") {
            showError(userNameMissing, userName);
            return false;
        }
        if (password && password.value === "") {
            showError(passwordMissing, password);
            return false;
        }
        showError("");
        // submit() skips submit events and validation, as AD FS's own script does.
        form.submit();
        return false;
    }

    return { submitLoginRequest: submitLoginRequest };
}());

// The page opens with the first empty field focused, so a person can start typing.
(function () {
    "use strict";
    var userName = document.getElementById("userNameInput");
    var password = document.getElementById("passwordInput");
    var passcode = document.getElementById("passcodeInput");
    if (userName && userName.value === "") {
        userName.focus();
    } else if (password) {
        password.focus();
    } else if (passcode) {
        passcode.focus();
    }
}());
