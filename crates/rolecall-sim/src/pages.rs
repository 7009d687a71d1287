//! The HTML AD FS serves: login form (whole, or AD FS 2019+'s paginated pages), home realm
//! discovery, the page that changes an expired password, MFA prompt, auto-post form, error and
//! sign-out pages, the Duo-like page and its stand-in frame, and the fault page. Markup only; what to serve when is
//! the server's call. The scripts, styles and logo the pages link are in `portal`.

use crate::escape::{markup, url_attribute};

/// The login page's error text after a wrong user name or password (AD FS's wording).
pub const WRONG_PASSWORD_TEXT: &str =
    "Incorrect user ID or password. Type the correct user ID and password, and try again.";

/// The MFA page's error text after a wrong passcode.
pub const WRONG_PASSCODE_TEXT: &str = "The passcode you entered is not valid. Try again.";

/// The login page's error text for a locked-out account on a farm that names the lockout (AD FS
/// logs it as MSIS7017; its extranet lockout otherwise answers [`WRONG_PASSWORD_TEXT`]). The
/// sentence is the simulator's own.
pub const LOCKED_OUT_TEXT: &str =
    "MSIS7017: This account is locked out after too many failed sign-ins. Try again later.";

/// The login page's error text when an MFA `Context` is unknown or too old.
pub const CONTEXT_EXPIRED_TEXT: &str =
    "Your sign-in session has expired or is no longer valid. Sign in again.";

fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en-US">
<head>
    <meta http-equiv="X-UA-Compatible" content="IE=edge"/>
    <meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=2.0, user-scalable=yes"/>
    <meta http-equiv="content-type" content="text/html;charset=UTF-8" />
    <meta http-equiv="cache-control" content="no-cache,no-store"/>
    <meta http-equiv="pragma" content="no-cache"/>
    <meta http-equiv="expires" content="-1"/>
    <meta name="mswebdialog-title" content="Connecting to Corp"/>
    <title>{title}</title>
    <link rel="stylesheet" type="text/css" href="/adfs/portal/css/style.css?id=D74D4D6D8F1ACE2A8B6B63C3E5E5B6F4"/>
</head>
<body dir="ltr" class="body">
    <div id="noScript" style="position:static; width:100%; height:100%; z-index:100">
        <h1>JavaScript required</h1>
        <p>JavaScript is required. This web browser does not support JavaScript or JavaScript in this web browser is not enabled.</p>
    </div>
    <script type="text/javascript" language="JavaScript">
         document.getElementById("noScript").style.display = "none";
    </script>
    <div id="fullPage">
        <div id="brandingWrapper" class="float"><div id="branding"></div></div>
        <div id="contentWrapper" class="float">
            <div id="content">
                <div id="header"><img class='logoImage' id='companyLogo' src='/adfs/portal/logo/logo.svg' alt='Corp'/></div>
                <main>
                    <div id="workArea">
{body}
                    </div>
                </main>
            </div>
            <footer id="footer">
                <div id="footerLinks" class="floatReverse"><div><span id="copyright">&#169; 2018 Microsoft</span></div></div>
            </footer>
        </div>
    </div>
    <script type='text/javascript' src='/adfs/portal/script/onload.js?id=6F1E4A9C2B7D3E58A0C4F1B2D9E7A3C6'></script>
</body>
</html>
"#
    )
}

/// The forms login page. `action` is the relative sign-on URL incl. `client-request-id`;
/// `method` is `post` on every real AD FS (`None` leaves the attribute out).
pub(crate) fn login(
    action: &str,
    method: Option<&str>,
    username: &str,
    error: Option<&str>,
) -> String {
    login_with_error_html(action, method, username, &markup(error.unwrap_or_default()))
}

/// [`login`] with `error` as HTML, placed as it is.
pub(crate) fn login_with_error_html(
    action: &str,
    method: Option<&str>,
    username: &str,
    error: &str,
) -> String {
    login_page(LoginStep::Whole, action, method, username, error)
}

/// What a login page asks for: all at once, or (AD FS 2019+'s paginated sign-in) the username
/// on one page and the password on the next, in the same `loginForm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginStep {
    Whole,
    Username,
    Password,
}

/// The login page for `step`, with `error` as HTML. On the password page `username` is the
/// one the first page took, carried in a hidden field.
pub(crate) fn login_page(
    step: LoginStep,
    action: &str,
    method: Option<&str>,
    username: &str,
    error: &str,
) -> String {
    let action = url_attribute(action);
    let method = method
        .map(|method| format!(" method=\"{}\"", markup(method)))
        .unwrap_or_default();
    let username = markup(username);
    let message = match step {
        LoginStep::Password => "Enter your password",
        LoginStep::Whole | LoginStep::Username => "Sign in with your organizational account",
    };
    let username_area = match step {
        LoginStep::Password => format!(
            r#"                <div id="userNameArea" class="hidden">
                    <input id="userNameInput" name="UserName" type="hidden" value="{username}"/>
                </div>
                <div id="displayNameArea" class="fieldMargin">{username}</div>"#
        ),
        LoginStep::Whole | LoginStep::Username => format!(
            r#"                <div id="userNameArea">
                    <label id="userNameInputLabel" for="userNameInput" class="hidden">User Account</label>
                    <input id="userNameInput" name="UserName" type="email" value="{username}" tabindex="1" class="text fullWidth"
                        spellcheck="false" placeholder="someone@example.com" autocomplete="off"/>
                </div>"#
        ),
    };
    let password_area = match step {
        LoginStep::Username => String::new(),
        LoginStep::Whole | LoginStep::Password => r#"
                <div id="passwordArea">
                    <label id="passwordInputLabel" for="passwordInput" class="hidden">Password</label>
                    <input id="passwordInput" name="Password" type="password" tabindex="2" class="text fullWidth"
                        placeholder="Password" autocomplete="off"/>
                </div>
                <div id="kmsiArea" style="display:''">
                    <input type="checkbox" name="Kmsi" id="kmsiInput" value="true" tabindex="3" />
                    <label for="kmsiInput">Keep me signed in</label>
                </div>"#
            .to_owned(),
    };
    let button = match step {
        LoginStep::Username => "Next",
        LoginStep::Whole | LoginStep::Password => "Sign in",
    };
    document(
        "Sign In",
        &format!(
            r#"    <div id="authArea" class="groupMargin">
    <div id="loginArea">
        <div id="loginMessage" class="groupMargin">{message}</div>

        <form{method} id="loginForm" autocomplete="off" novalidate="novalidate" onKeyPress="if (event && event.keyCode == 13) Login.submitLoginRequest();" action="{action}" >
            <div id="error" class="fieldMargin error smallText">
                <label id="errorText" for="">{error}</label>
            </div>

            <div id="formsAuthenticationArea">
{username_area}{password_area}
                <div id="submissionArea" class="submitMargin">
                    <span id="submitButton" class="submit" tabindex="4" role="button"
                        onKeyPress="if (event && event.keyCode == 32) Login.submitLoginRequest();"
                        onclick="return Login.submitLoginRequest();">{button}</span>
                </div>
            </div>
            <input id="optionForms" type="hidden" name="AuthMethod" value="FormsAuthentication"/>
        </form>
    </div>
    </div>"#
        ),
    )
}

/// Home realm discovery: one button per claims provider, each posting its identifier as
/// `HomeRealmSelection` to `action`. `providers` are (identifier, shown name).
pub(crate) fn home_realm(
    action: &str,
    providers: &[(String, String)],
    error: Option<&str>,
) -> String {
    let action = url_attribute(action);
    let error = markup(error.unwrap_or_default());
    let buttons: String = providers
        .iter()
        .enumerate()
        .map(|(index, (id, name))| {
            format!(
                r#"
                <button type="submit" class="idp" name="HomeRealmSelection" value="{}" tabindex="{}">
                    <span class="largeTextNoWrap indentNonCollapsible">{}</span>
                </button>"#,
                markup(id),
                index + 1,
                markup(name)
            )
        })
        .collect();
    document(
        "Sign In",
        &format!(
            r#"    <div id="hrdArea">
        <div id="openingMessage" class="groupMargin bigText">Sign in with one of these accounts</div>
        <form method="post" id="hrdForm" action="{action}">
            <div id="error" class="fieldMargin error smallText">
                <label id="errorText" for="">{error}</label>
            </div>
            <div id="claimsProviders" class="groupMargin">{buttons}
            </div>
        </form>
    </div>"#
        ),
    )
}

/// Where an expired password is sent, and where its form posts.
pub const UPDATE_PASSWORD_PATH: &str = "/adfs/portal/updatepassword/";

/// The update page's error text when the user ID or old password is wrong.
pub const UPDATE_REFUSED_TEXT: &str = "The user ID or old password is incorrect.";
/// The update page's error text when the new password is unusable.
pub const NEW_PASSWORD_REFUSED_TEXT: &str =
    "The new passwords must match, and differ from the old one.";

/// The page that changes an expired password: the user ID, the old password and the new one
/// twice, posted back to [`UPDATE_PASSWORD_PATH`].
pub(crate) fn update_password(username: &str, error: Option<&str>) -> String {
    let username = markup(username);
    let error = markup(error.unwrap_or_default());
    document(
        "Update Password",
        &format!(
            r#"    <div id="updatePasswordArea">
        <div id="openingMessage" class="groupMargin bigText">Update password</div>
        <div id="expiredNotice" class="groupMargin">Your password has expired. Enter your old password and choose a new one.</div>
        <form method="post" id="updatePasswordForm" autocomplete="off" novalidate="novalidate" action="{UPDATE_PASSWORD_PATH}">
            <div id="error" class="fieldMargin error smallText">
                <label id="errorText" for="">{error}</label>
            </div>
            <label for="userNameInput">User ID</label>
            <input id="userNameInput" name="UserName" type="email" value="{username}" class="text fullWidth" tabindex="1"/>
            <label for="oldPasswordInput">Old password</label>
            <input id="oldPasswordInput" name="OldPassword" type="password" class="text fullWidth" tabindex="2"/>
            <label for="newPasswordInput">New password</label>
            <input id="newPasswordInput" name="NewPassword" type="password" class="text fullWidth" tabindex="3"/>
            <label for="confirmNewPasswordInput">Confirm new password</label>
            <input id="confirmNewPasswordInput" name="ConfirmNewPassword" type="password" class="text fullWidth" tabindex="4"/>
            <div id="submissionArea" class="submitMargin">
                <input id="submitButton" type="submit" value="Submit" class="submit" tabindex="5"/>
            </div>
        </form>
    </div>"#
        ),
    )
}

/// After a password change: a link back to the sign-in.
pub(crate) fn password_updated(sign_on_url: &str) -> String {
    let sign_on_url = url_attribute(sign_on_url);
    document(
        "Update Password",
        &format!(
            r#"    <div id="updatePasswordArea">
        <div id="openingMessage" class="groupMargin bigText">Your password has been updated.</div>
        <div class="groupMargin"><a id="signInAgain" href="{sign_on_url}">Sign in with your new password</a></div>
    </div>"#
        ),
    )
}

/// The second-factor page. `action` is the absolute sign-on URL incl. its query.
pub(crate) fn mfa(action: &str, adapter: &str, context: &str, error: Option<&str>) -> String {
    let action = url_attribute(action);
    let adapter = markup(adapter);
    let context = markup(context);
    let error = markup(error.unwrap_or_default());
    document(
        "Sign In",
        &format!(
            r#"    <div id="authArea" class="groupMargin">
    <div id="mfaArea">
        <div id="loginMessage" class="groupMargin">For security reasons, we require additional information to verify your account</div>
        <form method="post" id="options" autocomplete="off" novalidate="novalidate" action="{action}">
            <div id="error" class="fieldMargin error smallText">
                <label id="errorText" for="">{error}</label>
            </div>
            <div class="fieldMargin">Enter the passcode shown on your token.</div>
            <div id="passcodeArea">
                <label id="passcodeInputLabel" for="passcodeInput" class="hidden">Passcode</label>
                <input id="passcodeInput" name="Passcode" type="password" tabindex="1" class="text fullWidth" placeholder="Passcode" autocomplete="off"/>
            </div>
            <input id="authMethod" type="hidden" name="AuthMethod" value="{adapter}"/>
            <input id="context" type="hidden" name="Context" value="{context}"/>
            <div id="submissionArea" class="submitMargin">
                <input id="submitButton" type="submit" name="Continue" value="Continue" class="submit"/>
            </div>
        </form>
    </div>
    </div>"#
        ),
    )
}

/// The page whose script posts the assertion on to AWS.
pub(crate) fn auto_post(destination: &str, saml_response: &str) -> String {
    format!(
        r#"<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="{}"><input type="hidden" name="SAMLResponse" value="{}" /><noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form><script language="javascript">window.setTimeout('document.forms[0].submit()', 0);</script></body></html>"#,
        markup(destination),
        markup(saml_response),
    )
}

/// AD FS's error page for a `loginToRp` it has no trust for.
pub(crate) fn unknown_relying_party(rp: &str, activity_id: &str, at: &str) -> String {
    let rp = markup(rp);
    document(
        "Sign In",
        &format!(
            r#"    <div id="errorArea">
        <div id="openingMessage" class="groupMargin bigText">An error occurred</div>
        <div id="errorMessage" class="groupMargin">An error occurred. Contact your administrator for more information.</div>
        <div id="errorDetails" class="groupMargin">
            <div id="errorDetailsHeader" class="groupMargin">Error details</div>
            <ul>
                <li><span class="fieldLabel">Activity ID:</span> {activity_id}</li>
                <li><span class="fieldLabel">Relying party:</span> {rp}</li>
                <li><span class="fieldLabel">Error time:</span> {at}</li>
                <li><span class="fieldLabel">Error message:</span> MSIS7007: The requested relying party trust '{rp}' is unspecified or unsupported. If a relying party trust was specified, it is possible that you do not have permission to access the trust relying party. Contact your administrator for details.</li>
            </ul>
        </div>
    </div>"#
        ),
    )
}

/// The IdP-initiated sign-on page without a relying party: a chooser, not a login form. Its
/// form asks `action` (the sign-on path) again with the chosen `loginToRp`, script or not.
pub(crate) fn idp_initiated(action: &str, relying_parties: &[String]) -> String {
    let action = url_attribute(action);
    let options: String = relying_parties
        .iter()
        .map(|rp| format!(r#"<option value="{0}">{0}</option>"#, markup(rp)))
        .collect();
    document(
        "Sign In",
        &format!(
            r#"    <div id="idpInitiatedArea">
        <div id="openingMessage" class="groupMargin bigText">You are not signed in.</div>
        <form id="idpForm" method="get" action="{action}">
            <label id="idp_RelyingPartyLabel" for="idp_RelyingPartyDropDownList">Sign in to one of the following sites:</label>
            <select id="idp_RelyingPartyDropDownList" name="loginToRp" tabindex="1">{options}</select>
            <div id="submissionArea" class="submitMargin">
                <input id="idp_SignInButton" class="submit" type="submit" value="Sign in" tabindex="2"/>
            </div>
        </form>
    </div>"#
        ),
    )
}

pub(crate) fn signed_out() -> String {
    document(
        "Sign Out",
        r#"    <div id="signoutArea">
        <div id="openingMessage" class="groupMargin bigText">You have successfully signed out.</div>
    </div>"#,
    )
}

/// What a misbehaving AD FS (or a proxy in front of it) answers instead of the auto-post page.
pub(crate) fn unexpected_error() -> String {
    "<html><head><title>Error</title></head><body><h1>Unexpected error</h1><p>Please try again later.</p></body></html>".to_owned()
}

/// A Duo-style second factor: a frame only a browser can complete. Duo's frame comes from its
/// own host (`data-host`); this one is the simulator's stand-in ([`duo_frame`]) at
/// [`DUO_FRAME_PATH`], so a person can finish it offline. `transaction` names the sign-in there.
pub(crate) fn duo(action: &str, context: &str, transaction: &str) -> String {
    let action = url_attribute(action);
    let context = markup(context);
    let frame = url_attribute(&format!(
        "{DUO_FRAME_PATH}?tx={}",
        url::form_urlencoded::byte_serialize(transaction.as_bytes()).collect::<String>()
    ));
    document(
        "Sign In",
        &format!(
            r#"    <div id="authArea" class="groupMargin">
        <script src="/adfs/portal/script/Duo-Web-v2.min.js"></script>
        <iframe id="duo_iframe" title="Two-Factor Authentication" frameborder="0" data-host="api-3f2a9b1c.duosecurity.com" data-sig-request="TX|ZGF2ZXxESTQ3|1e9f:APP|ZGF2ZXxESTQ3|8c41" src="{frame}"></iframe>
        <form method="post" id="duo_form" action="{action}">
            <input type="hidden" name="AuthMethod" value="DuoAdfsAdapter"/>
            <input type="hidden" name="Context" value="{context}"/>
        </form>
    </div>"#
        ),
    )
}

/// Where the stand-in for Duo's frame is served.
pub(crate) const DUO_FRAME_PATH: &str = "/adfs/portal/duo/frame";

/// The field Duo's script adds to `duo_form` once the person approved, and its value's prefix.
pub(crate) const DUO_RESPONSE_FIELD: &str = "sig_response";
const DUO_RESPONSE_PREFIX: &str = "AUTH|";

/// The `sig_response` that approves `transaction`.
pub(crate) fn duo_response(transaction: &str) -> String {
    format!("{DUO_RESPONSE_PREFIX}{transaction}")
}

/// The stand-in for Duo's frame: one button that approves the sign-in.
pub(crate) fn duo_frame(transaction: &str) -> String {
    let transaction = markup(transaction);
    format!(
        r#"<!DOCTYPE html>
<html lang="en-US">
<head>
    <meta charset="utf-8"/>
    <title>Two-Factor Authentication</title>
    <link rel="stylesheet" type="text/css" href="/adfs/portal/css/style.css"/>
</head>
<body>
    <div id="duoPrompt" class="groupMargin">
        <div class="groupMargin bigText">Approve this sign-in</div>
        <div class="groupMargin">This stands in for your second-factor app: approve the sign-in to go on.</div>
        <form id="duo_approval" method="post" action="{DUO_FRAME_PATH}">
            <input type="hidden" name="tx" value="{transaction}"/>
            <input id="duo_approve" class="submit" type="submit" value="Approve"/>
        </form>
    </div>
</body>
</html>
"#
    )
}

/// What the stand-in frame answers once approved: its script hands `sig_response` to the page
/// around it, whose Duo script (portal's) adds it to `duo_form` and submits.
pub(crate) fn duo_approved(transaction: &str) -> String {
    let response = markup(&duo_response(transaction));
    format!(
        r#"<!DOCTYPE html>
<html lang="en-US">
<head>
    <meta charset="utf-8"/>
    <title>Two-Factor Authentication</title>
    <link rel="stylesheet" type="text/css" href="/adfs/portal/css/style.css"/>
</head>
<body>
    <div id="duoApproved" class="groupMargin bigText" data-sig-response="{response}">Approved. Signing you in…</div>
    <script type="text/javascript">
        window.parent.postMessage({{ sigResponse: document.getElementById("duoApproved").dataset.sigResponse }}, window.location.origin);
    </script>
</body>
</html>
"#
    )
}

pub(crate) fn wia_challenge() -> String {
    "<html><head><title>401 - Unauthorized</title></head><body><h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1></body></html>".to_owned()
}

pub(crate) fn not_found() -> String {
    "<html><head><title>404 - Not Found</title></head><body><h1>404 - File or directory not found.</h1></body></html>".to_owned()
}

/// The simulator's own front page, for people running the demo.
pub(crate) fn index(sign_on_url: &str, users: &[String]) -> String {
    let users: String = users
        .iter()
        .map(|u| format!("<li>{}</li>", markup(u)))
        .collect();
    format!(
        r#"<html><head><title>Rolecall AD FS simulator</title></head><body><h1>Rolecall AD FS simulator</h1><p><a href="{0}">{0}</a></p><ul>{users}</ul></body></html>"#,
        markup(sign_on_url)
    )
}
