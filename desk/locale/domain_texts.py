# ruff: noqa: RUF001, E501 (Armenian and Russian sentences, one per line)
"""The texts the domains own that the desk shows, in Armenian and Russian: the exception kinds'
labels (each app's ``exception_kinds.py``), the decisions a domain's admin names for a case
decided on its subject, the reconciliation run's types, the period adjustments' kinds, the
providers' names and the services' refusals the desk shows (``desk/refusals.py``).
``desk/locale/translations.py`` merges them into the desk's one catalogue."""

from __future__ import annotations

# msgid -> (Armenian, Russian), as in ``translations.T``.
DOMAIN_TEXTS: dict = {
    # Exception kinds (each app's exception_kinds.py): their labels on the desk and in the admin.
    "Appointment request and provider payment disagree": (
        "Այցի վճարման հարցումը և պրովայդերի վճարումը չեն համընկնում",
        "Запрос оплаты визита и платёж провайдера не совпадают",
    ),
    "Cancelled appointment still holds a payment (no refund or forfeit decided)": (
        "Չեղարկված այցը դեռ պահում է վճարում (վերադարձ կամ պահում որոշված չէ)",
        "Отменённый визит всё ещё держит платёж (возврат или удержание не решены)",
    ),
    "Completed appointment whose payment was refunded": (
        "Կայացած այց, որի վճարումը վերադարձվել է",
        "Состоявшийся визит, платёж за который возвращён",
    ),
    "No-show appointment still holds a payment (no refund or forfeit decided)": (
        "Չներկայացման այցը դեռ պահում է վճարում (վերադարձ կամ պահում որոշված չէ)",
        "Визит с неявкой всё ещё держит платёж (возврат или удержание не решены)",
    ),
    "Payment arrived for an expired appointment request": (
        "Վճարումը եկել է ժամկետանց այցի հարցման համար",
        "Платёж пришёл по истёкшему запросу оплаты визита",
    ),
    "A dunning reminder could not be sent": (
        "Վճարման հիշեցումը հնարավոր չեղավ ուղարկել",
        "Напоминание об оплате не удалось отправить",
    ),
    "Billing period in manual review (retry limit reached or hard decline)": (
        "Հաշվարկային ժամանակաշրջանը ձեռքով ստուգման մեջ է (փորձերի սահմանը սպառվել է կամ վերջնական մերժում)",
        "Расчётный период на ручной проверке (исчерпаны попытки или окончательный отказ)",
    ),
    "Billing period: paid less, paid twice, or refunded after entitlement": (
        "Հաշվարկային ժամանակաշրջան՝ վճարվել է պակաս, երկու անգամ կամ վերադարձվել է մուտքը տրամադրելուց հետո",
        "Расчётный период: оплачено меньше, оплачено дважды или возвращено после выдачи доступа",
    ),
    "Payment arrived on a superseded payment link of a billing period": (
        "Վճարումը եկել է հաշվարկային ժամանակաշրջանի փոխարինված վճարման հղումով",
        "Платёж пришёл по заменённой платёжной ссылке расчётного периода",
    ),
    "Amount mismatch between callback and status lookup": (
        "Գումարը տարբերվում է ծանուցման և կարգավիճակի հարցման միջև",
        "Сумма в уведомлении и в запросе статуса не совпадает",
    ),
    "Paid after expiry or decline": (
        "Վճարվել է ժամկետի ավարտից կամ մերժումից հետո",
        "Оплачено после истечения срока или отказа",
    ),
    "Provider callback rejected": (
        "Պրովայդերի ծանուցումը մերժվել է",
        "Уведомление провайдера отклонено",
    ),
    "Refund outcome unknown": ("Վերադարձի արդյունքն անհայտ է", "Результат возврата неизвестен"),
    "Completed payout without reference": (
        "Կատարված փոխանցում առանց հղման համարի",
        "Завершённая выплата без референса",
    ),
    "Duplicate active payout scope": (
        "Նույն շրջանակի կրկնակի ակտիվ փոխանցում",
        "Дублирующая активная выплата по одной области",
    ),
    "No verified payments for a payout period": (
        "Փոխանցման ժամանակաշրջանում հաստատված վճարումներ չկան",
        "Нет подтверждённых платежей за период выплаты",
    ),
    "Payment verified into a closed payout period": (
        "Վճարումը հաստատվել է փակ փոխանցման ժամանակաշրջանում",
        "Платёж подтверждён в закрытом периоде выплат",
    ),
    "Payout period build failed": (
        "Փոխանցման ժամանակաշրջանի կազմումը ձախողվել է",
        "Не удалось сформировать выплаты за период",
    ),
    "Refund after a payout request (drift)": (
        "Վերադարձ փոխանցման հայտից հետո (շեղում)",
        "Возврат после запроса выплаты (расхождение)",
    ),
    "Bank debit no payout explains": (
        "Բանկային դուրսգրում, որը ոչ մի փոխանցում չի բացատրում",
        "Банковское списание, которое не объясняет ни одна выплата",
    ),
    "Bank line of a payout with another amount or currency": (
        "Փոխանցման բանկային տող՝ այլ գումարով կամ արժույթով",
        "Банковская строка выплаты с другой суммой или валютой",
    ),
    "Completed payout with no bank statement line": (
        "Կատարված փոխանցում առանց բանկային քաղվածքի տողի",
        "Завершённая выплата без строки в банковской выписке",
    ),
    "Money self-check drift (verified - refunded != paid out + in flight + adjustments)": (
        "Գումարների ինքնաստուգման շեղում (հաստատված − վերադարձված ≠ փոխանցված + ընթացքում + ճշգրտումներ)",
        "Расхождение самопроверки денег (подтверждено − возвращено ≠ выплачено + в пути + корректировки)",
    ),
    "Provider report disagrees with payops (amount, status, refund, fee or duplicate)": (
        "Պրովայդերի հաշվետվությունը չի համընկնում payops-ի հետ (գումար, կարգավիճակ, վերադարձ, միջնորդավճար կամ կրկնօրինակ)",
        "Отчёт провайдера расходится с payops (сумма, статус, возврат, комиссия или дубликат)",
    ),
    "Provider report row payops does not know": (
        "Պրովայդերի հաշվետվության տող, որը payops-ը չգիտի",
        "Строка отчёта провайдера, неизвестная payops",
    ),
    "Verified payment missing from the provider report": (
        "Հաստատված վճարումը բացակայում է պրովայդերի հաշվետվությունից",
        "Подтверждённый платёж отсутствует в отчёте провайдера",
    ),
    # The decisions the domains' admins name for a case decided on its subject (desk blockers).
    "Accept or refund payment request #%(id)s": (
        "Ընդունել կամ վերադարձնել վճարման հարցում #%(id)s",
        "Принять или вернуть запрос оплаты #%(id)s",
    ),
    "Forfeit or refund payment request #%(id)s": (
        "Պահել կամ վերադարձնել վճարման հարցում #%(id)s",
        "Удержать или вернуть запрос оплаты #%(id)s",
    ),
    "Decide billing period #%(id)s (retry or waive)": (
        "Որոշել հաշվարկային ժամանակաշրջան #%(id)s (կրկնել կամ զիջել)",
        "Решить по расчётному периоду #%(id)s (повторить или списать)",
    ),
    "Nightly": ("Գիշերային", "Ночная"),
    "Manual (command or API)": ("Ձեռքով (հրաման կամ API)", "Вручную (команда или API)"),
    "Refund of a payment of a closed period": (
        "Փակ ժամանակաշրջանի վճարման վերադարձ",
        "Возврат платежа закрытого периода",
    ),
    "Payment verified after its period closed": (
        "Վճարումը հաստատվել է իր ժամանակաշրջանի փակվելուց հետո",
        "Платёж подтверждён после закрытия своего периода",
    ),
    "Decide the refund drift of payout #%(id)s": (
        "Որոշել #%(id)s փոխանցման վերադարձի շեղումը",
        "Решить расхождение из-за возврата по выплате #%(id)s",
    ),
    "Complete or cancel payout #%(id)s (recalculated)": (
        "Ավարտել կամ չեղարկել #%(id)s փոխանցումը (վերահաշվարկված)",
        "Завершить или отменить выплату #%(id)s (пересчитана)",
    ),
    "Webhook delivery failed": ("Webhook-ի առաքումը ձախողվել է", "Доставка вебхука не удалась"),
    # The providers' names (payments.models.Provider).
    "ArCa (BPC gateway)": ("ArCa (BPC դարպաս)", "ArCa (шлюз BPC)"),
    "Ameriabank vPOS": ("Ամերիաբանկ vPOS", "Америабанк vPOS"),
    "Idram": ("Իդրամ", "Idram"),
    "Telcell Money": ("Telcell Money", "Telcell Money"),
    "payops sandbox": ("payops ավազարկղ", "песочница payops"),
    # The services' refusals (desk/refusals.py): their codes' sentences (each app's errors.py)...
    "This object cannot move to that state from its current one.": (
        "Այս օբյեկտը չի կարող իր ընթացիկ վիճակից անցնել այդ վիճակին։",
        "Этот объект не может перейти в это состояние из текущего.",
    ),
    "A reason is required.": ("Պատճառը պարտադիր է։", "Нужно указать причину."),
    "The period this change falls in is closed.": (
        "Ժամանակաշրջանը, որին վերաբերում է այս փոփոխությունը, փակ է։",
        "Период, к которому относится это изменение, закрыт.",
    ),
    "The period overlaps another period.": (
        "Ժամանակաշրջանը համընկնում է մեկ այլ ժամանակաշրջանի հետ։",
        "Период пересекается с другим периодом.",
    ),
    "Open blocking exceptions fall in this period; resolve them first.": (
        "Այս ժամանակաշրջանում կան բաց արգելափակող դեպքեր․ նախ լուծեք դրանք։",
        "В этом периоде есть открытые блокирующие исключения; сначала разрешите их.",
    ),
    "Your role does not allow this.": (
        "Ձեր դերը դա թույլ չի տալիս։",
        "Ваша роль этого не позволяет.",
    ),
    "The request has invalid fields (see `fields`).": (
        "Որոշ դաշտեր սխալ են լրացված։",
        "Некоторые поля заполнены неверно.",
    ),
    "Say how the exception was resolved.": (
        "Նշեք, թե ինչպես է լուծվել դեպքը։",
        "Укажите, как было разрешено исключение.",
    ),
    "Unknown provider.": ("Անհայտ պրովայդեր։", "Неизвестный провайдер."),
    "The file is malformed; nothing of it was written.": (
        "Ֆայլը սխալ ձևաչափով է․ դրանից ոչինչ չի գրանցվել։",
        "Файл повреждён или имеет неверный формат; из него ничего не записано.",
    ),
    "The file's format is not one payops can read.": (
        "Ֆայլի ձևաչափը payops-ը չի կարող կարդալ։",
        "payops не умеет читать файлы такого формата.",
    ),
    "This exact file was imported before; nothing was written.": (
        "Հենց այս ֆայլն արդեն ներմուծվել է․ ոչինչ չի գրանցվել։",
        "Этот же файл уже импортирован; ничего не записано.",
    ),
    "This exact bank statement was imported before; nothing was written.": (
        "Հենց այս բանկային քաղվածքն արդեն ներմուծվել է․ ոչինչ չի գրանցվել։",
        "Эта же банковская выписка уже импортирована; ничего не записано.",
    ),
    "This period has not ended yet in the organisation's time zone; close it from the day after its last day.": (
        "Այս ժամանակաշրջանը կազմակերպության ժամային գոտում դեռ չի ավարտվել. փակեք այն դրա վերջին օրվան հաջորդող օրվանից։",
        "Этот период ещё не закончился в часовом поясе организации; закройте его со дня после его последнего дня.",
    ),
    # ... and the fixed precise sentences and reasons of those services.
    "This accounting period is closed.": (
        "Այս հաշվապահական ժամանակաշրջանը փակ է։",
        "Этот учётный период закрыт.",
    ),
    "Say why the period is reopened.": (
        "Նշեք, թե ինչու է ժամանակաշրջանը վերաբացվում։",
        "Укажите, почему период открывается снова.",
    ),
    "You may not reopen accounting periods.": (
        "Դուք չեք կարող վերաբացել հաշվապահական ժամանակաշրջանները։",
        "Вам нельзя снова открывать учётные периоды.",
    ),
    "The period ends before it starts.": (
        "Ժամանակաշրջանն ավարտվում է սկսվելուց առաջ։",
        "Период заканчивается раньше, чем начинается.",
    ),
    "Before start.": ("Սկզբից առաջ է։", "Раньше начала."),
    "the file is empty": ("ֆայլը դատարկ է", "файл пуст"),
}
