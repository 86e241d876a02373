"""The help page's words in English, Dutch and French: every string in one place.

Keys are the English meaning; values are plain text (the template escapes
them). Placeholders in braces are filled by `text()` with our own values
(host names, sizes), never with anything from a request.
"""

from __future__ import annotations

LANGUAGES = ("en", "nl", "fr")
DEFAULT_LANGUAGE = "en"
MAX_ACCEPT_LANGUAGE = 512  # characters of Accept-Language looked at
MAX_LANGUAGE_RANGES = 20

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Mail settings for {domain}",
        "title_generic": "Mail settings",
        "intro": "Use these settings to read and send the mail of your {domain} address "
                 "in any mail program or on your phone.",
        "intro_generic": "Use these settings to read and send mail hosted on {hostname} "
                         "in any mail program or on your phone.",
        "automatic": "Automatic set-up",
        "automatic_text": "Thunderbird, Outlook and most phone apps find these settings by "
                          "themselves: enter your e-mail address and password only.",
        "apple": "iPhone, iPad and Mac",
        "apple_text": "Download a configuration profile for your address, then open it "
                      "and install it in Settings.",
        "apple_button": "Download profile",
        "address": "E-mail address",
        "manual": "Manual set-up",
        "protocol": "Protocol",
        "server": "Server",
        "port": "Port",
        "security": "Security",
        "incoming_imap": "Incoming mail (IMAP)",
        "incoming_pop3": "Incoming mail (POP3)",
        "outgoing_smtp": "Outgoing mail (SMTP)",
        "ssl": "SSL/TLS",
        "starttls": "STARTTLS",
        "username": "User name: your full e-mail address. Password: your mailbox password. "
                    "Authentication: normal password.",
        "webmail": "Webmail",
        "webmail_text": "Read your mail in a browser at {url}",
        "imap_vs_pop3": "IMAP or POP3?",
        "imap_text": "IMAP keeps your mail and folders on the server: every computer and "
                     "phone shows the same mailbox. Choose IMAP unless you have a reason not to.",
        "pop3_text": "POP3 downloads the Inbox to one device, which usually deletes it from "
                     "the server. Other folders are not available, and mail read on one "
                     "device is not on the others.",
        "limits": "Limits",
        "max_message": "Largest message you can send or receive: {size}.",
        "quota": "Mailbox size: {size} for all folders together, unless your administrator "
                 "set another. When it is full, new mail is refused until you delete some.",
        "quota_unlimited": "Mailbox size: no limit, unless your administrator set one.",
    },
    "nl": {
        "title": "E-mailinstellingen voor {domain}",
        "title_generic": "E-mailinstellingen",
        "intro": "Met deze instellingen leest en verstuurt u de e-mail van uw {domain}-adres "
                 "in elk e-mailprogramma of op uw telefoon.",
        "intro_generic": "Met deze instellingen leest en verstuurt u e-mail die op {hostname} "
                         "staat, in elk e-mailprogramma of op uw telefoon.",
        "automatic": "Automatisch instellen",
        "automatic_text": "Thunderbird, Outlook en de meeste telefoonapps vinden deze "
                          "instellingen zelf: vul alleen uw e-mailadres en wachtwoord in.",
        "apple": "iPhone, iPad en Mac",
        "apple_text": "Download een configuratieprofiel voor uw adres, open het en "
                      "installeer het via Instellingen.",
        "apple_button": "Profiel downloaden",
        "address": "E-mailadres",
        "manual": "Handmatig instellen",
        "protocol": "Protocol",
        "server": "Server",
        "port": "Poort",
        "security": "Beveiliging",
        "incoming_imap": "Inkomende e-mail (IMAP)",
        "incoming_pop3": "Inkomende e-mail (POP3)",
        "outgoing_smtp": "Uitgaande e-mail (SMTP)",
        "ssl": "SSL/TLS",
        "starttls": "STARTTLS",
        "username": "Gebruikersnaam: uw volledige e-mailadres. Wachtwoord: het wachtwoord "
                    "van uw mailbox. Authenticatie: normaal wachtwoord.",
        "webmail": "Webmail",
        "webmail_text": "Lees uw e-mail in een browser op {url}",
        "imap_vs_pop3": "IMAP of POP3?",
        "imap_text": "IMAP bewaart uw e-mail en mappen op de server: elke computer en "
                     "telefoon toont dezelfde mailbox. Kies IMAP, tenzij u een reden hebt "
                     "om dat niet te doen.",
        "pop3_text": "POP3 haalt het Postvak IN naar één apparaat, dat het meestal van de "
                     "server verwijdert. Andere mappen zijn niet beschikbaar, en e-mail die "
                     "u op het ene apparaat leest, staat niet op de andere.",
        "limits": "Limieten",
        "max_message": "Grootste bericht dat u kunt versturen of ontvangen: {size}.",
        "quota": "Grootte van de mailbox: {size} voor alle mappen samen, tenzij uw "
                 "beheerder iets anders heeft ingesteld. Is die vol, dan wordt nieuwe e-mail "
                 "geweigerd tot u iets verwijdert.",
        "quota_unlimited": "Grootte van de mailbox: geen limiet, tenzij uw beheerder er een "
                           "heeft ingesteld.",
    },
    "fr": {
        "title": "Paramètres de messagerie pour {domain}",
        "title_generic": "Paramètres de messagerie",
        "intro": "Ces paramètres vous permettent de lire et d’envoyer le courrier de votre "
                 "adresse {domain} dans tout logiciel de messagerie ou sur votre téléphone.",
        "intro_generic": "Ces paramètres vous permettent de lire et d’envoyer le courrier "
                         "hébergé sur {hostname} dans tout logiciel de messagerie ou sur votre "
                         "téléphone.",
        "automatic": "Configuration automatique",
        "automatic_text": "Thunderbird, Outlook et la plupart des applications mobiles trouvent "
                          "ces paramètres seuls : saisissez seulement votre adresse "
                          "électronique et votre mot de passe.",
        "apple": "iPhone, iPad et Mac",
        "apple_text": "Téléchargez un profil de configuration pour votre adresse, puis "
                      "ouvrez-le et installez-le dans Réglages.",
        "apple_button": "Télécharger le profil",
        "address": "Adresse électronique",
        "manual": "Configuration manuelle",
        "protocol": "Protocole",
        "server": "Serveur",
        "port": "Port",
        "security": "Sécurité",
        "incoming_imap": "Courrier entrant (IMAP)",
        "incoming_pop3": "Courrier entrant (POP3)",
        "outgoing_smtp": "Courrier sortant (SMTP)",
        "ssl": "SSL/TLS",
        "starttls": "STARTTLS",
        "username": "Nom d’utilisateur : votre adresse électronique complète. Mot de passe : "
                    "celui de votre boîte aux lettres. Authentification : mot de passe normal.",
        "webmail": "Webmail",
        "webmail_text": "Lisez votre courrier dans un navigateur à l’adresse {url}",
        "imap_vs_pop3": "IMAP ou POP3 ?",
        "imap_text": "IMAP conserve votre courrier et vos dossiers sur le serveur : chaque "
                     "ordinateur et téléphone affiche la même boîte. Choisissez IMAP, sauf "
                     "raison particulière.",
        "pop3_text": "POP3 télécharge la boîte de réception sur un seul appareil, qui "
                     "l’efface en général du serveur. Les autres dossiers ne sont pas "
                     "accessibles, et le courrier lu sur un appareil n’est pas sur les autres.",
        "limits": "Limites",
        "max_message": "Taille maximale d’un message envoyé ou reçu : {size}.",
        "quota": "Taille de la boîte : {size} pour tous les dossiers ensemble, sauf si votre "
                 "administrateur en a fixé une autre. Quand elle est pleine, le nouveau "
                 "courrier est refusé jusqu’à ce que vous en supprimiez.",
        "quota_unlimited": "Taille de la boîte : illimitée, sauf si votre administrateur a "
                           "fixé une limite.",
    },
}

_UNITS = {
    "en": ("B", "KiB", "MiB", "GiB", "TiB"),
    "nl": ("B", "KiB", "MiB", "GiB", "TiB"),
    "fr": ("o", "Kio", "Mio", "Gio", "Tio"),  # French writes octets
}


def text(language: str, key: str, **values: str) -> str:
    template = CATALOGUE.get(language, CATALOGUE[DEFAULT_LANGUAGE]).get(key) \
        or CATALOGUE[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


def size_text(language: str, n: int) -> str:
    """A size in binary units: 12582912 -> "12 MiB" ("12 Mio" in French)."""
    units = _UNITS.get(language, _UNITS[DEFAULT_LANGUAGE])
    for power in range(4, 0, -1):
        if n >= 1 << (10 * power):
            value = f"{n / (1 << (10 * power)):.1f}".removesuffix(".0")
            if language != "en":
                value = value.replace(".", ",")
            return f"{value}\u00a0{units[power]}"
    return f"{n}\u00a0{units[0]}"


def negotiate(accept_language: str, override: str | None = None) -> str:
    """The language to answer in: `override` (?lang=) if we have it, else the
    first range of Accept-Language (RFC 9110 §12.5.4, by q-value) we have."""
    if override in LANGUAGES:
        return override
    ranges: list[tuple[float, int, str]] = []
    for i, item in enumerate(accept_language[:MAX_ACCEPT_LANGUAGE].split(",")[:MAX_LANGUAGE_RANGES]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        ranges.append((-q, i, tag.strip().lower().partition("-")[0]))
    for negative_q, _, primary in sorted(ranges):
        if negative_q < 0 and primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE
