//! The IdP page classifier on any text: it never panics or hangs, and every field it tells the
//! sign-in to fill is one of the form's own inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolecall_core::idp::{Form, Page, classify};

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let page = classify(&html);
    match &page {
        Page::SamlPost { .. } | Page::Unknown => {}
        Page::Login {
            form,
            username_field,
            password_field,
            ..
        } => {
            check_form(form);
            assert!(
                form.input(username_field).is_some(),
                "username field not in the form"
            );
            assert!(
                form.input(password_field).is_some(),
                "password field not in the form"
            );
        }
        Page::Passcode {
            form,
            passcode_field,
            ..
        } => {
            check_form(form);
            assert!(
                form.input(passcode_field).is_some(),
                "passcode field not in the form"
            );
        }
        Page::Username {
            form,
            username_field,
            ..
        } => {
            check_form(form);
            assert!(
                form.input(username_field).is_some(),
                "username field not in the form"
            );
        }
        Page::HomeRealm { form, .. } => check_form(form),
        Page::OtherMfa { .. } | Page::PasswordChange { .. } => {}
        Page::AdfsError { code, .. } => {
            assert!(
                code.starts_with("MSIS"),
                "an AD FS error without its code: {code:?}"
            );
        }
    }
    // The same text is always the same page.
    assert_eq!(classify(&html), page);
});

fn check_form(form: &Form) {
    for (name, _) in form.default_fields() {
        assert!(!name.is_empty());
        assert!(form.input(&name).is_some());
    }
}
