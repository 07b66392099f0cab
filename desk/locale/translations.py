# ruff: noqa: RUF001, E501 (Armenian and Russian sentences, one per line)
"""The desk's Armenian and Russian texts (its pages and the domains' desk sections; the exception
kinds' labels and the other domain texts it shows are in ``domain_texts.py``, merged here): the
source of ``desk/locale/*/LC_MESSAGES/django.po``.

``python desk/locale/translations.py`` rewrites both .po files from this table and compiles
them to .mo with Python's own writer (no gettext needed); the .mo files are committed, so a fresh
machine serves the translations without msgfmt. ``desk/tests/test_locale.py`` checks that every
text of the templates and code is here and that the .mo files are not stale.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    from desk.locale.domain_texts import DOMAIN_TEXTS
except ModuleNotFoundError:  # run as a script: python desk/locale/translations.py
    sys.path.insert(0, str(HERE.parents[1]))
    from desk.locale.domain_texts import DOMAIN_TEXTS

# msgid -> (Armenian, Russian). A plural: (singular, plural) msgids -> ([hy 2 forms], [ru 3 forms]).
T: dict = {
    "Accountants' desk": ("Հաշվապահի աշխատասեղան", "Рабочее место бухгалтера"),
    "Skip to content": ("Անցնել բովանդակությանը", "Перейти к содержимому"),
    "Main": ("Գլխավոր", "Главное"),
    "Periods": ("Ժամանակաշրջաններ", "Периоды"),
    "Imports": ("Ներմուծումներ", "Импорт"),
    "Organisation": ("Կազմակերպություն", "Организация"),
    "Open": ("Բաց", "Открыт"),
    "Closing": ("Փակվում է", "Закрывается"),
    "Closed": ("Փակ", "Закрыт"),
    "Language": ("Լեզու", "Язык"),
    "Go": ("Անցնել", "Перейти"),
    "Log out": ("Ելք", "Выйти"),
    "Amounts in the period's currencies; dates in the organisation's time zone.": (
        "Գումարները՝ ժամանակաշրջանի արժույթներով, ամսաթվերը՝ կազմակերպության ժամային գոտով։",
        "Суммы — в валютах периода; даты — в часовом поясе организации.",
    ),
    "Upload a provider report (ArCa/BPC, Ameriabank, payops CSV) or a bank statement (MT940, camt.053). Reports are matched with payments by the nightly reconciliation; statements are matched with payouts at once.": (
        "Վերբեռնեք պրովայդերի հաշվետվություն (ArCa/BPC, Ameriabank, payops CSV) կամ բանկային քաղվածք (MT940, camt.053)։ Հաշվետվությունները վճարումների հետ համադրվում են գիշերային համադրմամբ, քաղվածքները՝ վճարումների փոխանցումների հետ անմիջապես։",
        "Загрузите отчёт провайдера (ArCa/BPC, Ameriabank, payops CSV) или банковскую выписку (MT940, camt.053). Отчёты сверяются с платежами ночной сверкой, выписки — с выплатами сразу.",
    ),
    "Upload a file": ("Վերբեռնել ֆայլ", "Загрузить файл"),
    "Import": ("Ներմուծել", "Импортировать"),
    "Only accountants import files.": (
        "Ֆայլեր ներմուծում են միայն հաշվապահները։",
        "Импортировать файлы могут только бухгалтеры.",
    ),
    "Recent imports": ("Վերջին ներմուծումները", "Последние импорты"),
    "Provider reports": ("Պրովայդերների հաշվետվություններ", "Отчёты провайдеров"),
    "Provider": ("Պրովայդեր", "Провайдер"),
    "Rows": ("Տողեր", "Строки"),
    "Dates": ("Ամսաթվեր", "Даты"),
    "Status": ("Կարգավիճակ", "Статус"),
    "None yet.": ("Դեռ չկա։", "Пока нет."),
    "Bank statements": ("Բանկային քաղվածքներ", "Банковские выписки"),
    "Account": ("Հաշիվ", "Счёт"),
    "Imported": ("Ներմուծված", "Импортирован"),
    "Importing": ("Ներմուծվում է", "Импортируется"),
    "Log in": ("Մուտք", "Войти"),
    "Log in to the desk": ("Մուտք աշխատասեղան", "Вход в рабочее место"),
    "Close accounting periods, check the figures, import reports.": (
        "Փակեք հաշվապահական ժամանակաշրջանները, ստուգեք թվերը, ներմուծեք հաշվետվությունները։",
        "Закрывайте учётные периоды, проверяйте цифры, импортируйте отчёты.",
    ),
    "That username and password do not match a staff account.": (
        "Այս օգտանունը և գաղտնաբառը չեն համապատասխանում աշխատակցի հաշվին։",
        "Имя пользователя и пароль не подходят к учётной записи сотрудника.",
    ),
    "Username": ("Օգտանուն", "Имя пользователя"),
    "Password": ("Գաղտնաբառ", "Пароль"),
    "No organisation yet": ("Կազմակերպություն դեռ չկա", "Организации пока нет"),
    "Your account is not a member of any organisation. Ask an administrator to add you (manage.py create_user … --org SLUG --role accountant).": (
        "Ձեր հաշիվը որևէ կազմակերպության անդամ չէ։ Խնդրեք ադմինիստրատորին ավելացնել ձեզ (manage.py create_user … --org SLUG --role accountant)։",
        "Ваша учётная запись не состоит ни в одной организации. Попросите администратора добавить вас (manage.py create_user … --org SLUG --role accountant).",
    ),
    "Blocking cases keep the period from closing": (
        "Արգելափակող դեպքերը թույլ չեն տալիս փակել ժամանակաշրջանը",
        "Блокирующие случаи не дают закрыть период",
    ),
    ("%(n)s blocking", "%(n)s blocking"): (
        ["%(n)s արգելափակող", "%(n)s արգելափակող"],
        ["%(n)s блокирующий", "%(n)s блокирующих", "%(n)s блокирующих"],
    ),
    ("%(n)s open", "%(n)s open"): (
        ["%(n)s բաց", "%(n)s բաց"],
        ["%(n)s открытый", "%(n)s открытых", "%(n)s открытых"],
    ),
    "none": ("չկա", "нет"),
    "Figures in %(currency)s": ("Թվերը՝ %(currency)s", "Цифры в %(currency)s"),
    "No money moved in this period.": (
        "Այս ժամանակաշրջանում գումարի շարժ չի եղել։",
        "В этом периоде движения денег не было.",
    ),
    "The file was not imported:": ("Ֆայլը չներմուծվեց՝", "Файл не импортирован:"),
    "Report imported": ("Հաշվետվությունը ներմուծված է", "Отчёт импортирован"),
    ("%(n)s row of %(f)s imported.", "%(n)s rows of %(f)s imported."): (
        ["%(f)s ֆայլից ներմուծվել է %(n)s տող։", "%(f)s ֆայլից ներմուծվել է %(n)s տող։"],
        [
            "Из %(f)s импортирована %(n)s строка.",
            "Из %(f)s импортированы %(n)s строки.",
            "Из %(f)s импортировано %(n)s строк.",
        ],
    ),
    "Payments from %(a)s to %(b)s: tonight's reconciliation matches them.": (
        "Վճարումներ %(a)s-ից %(b)s. այս գիշերվա համադրումը դրանք կհամադրի։",
        "Платежи с %(a)s по %(b)s: их сверит сегодняшняя ночная сверка.",
    ),
    "Done": ("Պատրաստ է", "Готово"),
    "Bank statement imported": (
        "Բանկային քաղվածքը ներմուծված է",
        "Банковская выписка импортирована",
    ),
    "%(n)s lines; %(m)s of %(d)s debits matched to payouts.": (
        "%(n)s տող. %(d)s դեբետից %(m)s-ը համադրվել է վճարումների փոխանցումների հետ։",
        "Строк: %(n)s; со выплатами сопоставлено %(m)s из %(d)s списаний.",
    ),
    ("%(m)s matched · %(r)s case raised", "%(m)s matched · %(r)s cases raised"): (
        ["%(m)s համադրված · %(r)s դեպք բացված", "%(m)s համադրված · %(r)s դեպք բացված"],
        [
            "%(m)s сопоставлено · %(r)s случай заведён",
            "%(m)s сопоставлено · %(r)s случая заведено",
            "%(m)s сопоставлено · %(r)s случаев заведено",
        ],
    ),
    "not run yet": ("դեռ չի կատարվել", "ещё не запускалась"),
    "Accounting periods": ("Հաշվապահական ժամանակաշրջաններ", "Учётные периоды"),
    "closed %(when)s by %(who)s": ("փակվել է %(when)s, %(who)s", "закрыт %(when)s, %(who)s"),
    "Download CSV": ("Ներբեռնել CSV", "Скачать CSV"),
    "Download XLSX": ("Ներբեռնել XLSX", "Скачать XLSX"),
    "Close period…": ("Փակել ժամանակաշրջանը…", "Закрыть период…"),
    "Only accountants close periods.": (
        "Ժամանակաշրջանները փակում են միայն հաշվապահները։",
        "Закрывать периоды могут только бухгалтеры.",
    ),
    "Reopen…": ("Վերաբացել…", "Открыть снова…"),
    (
        "%(n)s case keeps this period from closing",
        "%(n)s cases keep this period from closing",
    ): (
        [
            "%(n)s դեպք թույլ չի տալիս փակել այս ժամանակաշրջանը",
            "%(n)s դեպք թույլ չեն տալիս փակել այս ժամանակաշրջանը",
        ],
        [
            "%(n)s случай не даёт закрыть этот период",
            "%(n)s случая не дают закрыть этот период",
            "%(n)s случаев не дают закрыть этот период",
        ],
    ),
    "Nothing blocks the close": ("Փակմանը ոչինչ չի խանգարում", "Закрытию ничто не мешает"),
    "Every blocking case of these dates is resolved. Check the figures, then close the period.": (
        "Այս ամսաթվերի բոլոր արգելափակող դեպքերը լուծված են։ Ստուգեք թվերը, ապա փակեք ժամանակաշրջանը։",
        "Все блокирующие случаи этих дат решены. Проверьте цифры и закройте период.",
    ),
    "open since %(since)s": ("բաց է %(since)s-ից", "открыт с %(since)s"),
    "open the case in the admin": ("բացել դեպքը ադմինկայում", "открыть случай в админке"),
    "How was it resolved?": ("Ինչպե՞ս է լուծվել", "Как решено?"),
    "e.g. the bank confirmed the payment": (
        "օր.՝ բանկը հաստատեց վճարումը",
        "напр. банк подтвердил платёж",
    ),
    "Resolve": ("Լուծել", "Решить"),
    "Close %(month)s?": ("Փակե՞լ %(month)s-ը", "Закрыть %(month)s?"),
    "Once closed, nothing dated in this period can change: late refunds and payments are booked as adjustments in the next open period. Only an accountant can reopen it, with a reason.": (
        "Փակելուց հետո այս ժամանակաշրջանի ամսաթվով ոչինչ չի կարող փոխվել. ուշացած վերադարձներն ու վճարումները գրանցվում են որպես ճշգրտումներ հաջորդ բաց ժամանակաշրջանում։ Վերաբացել կարող է միայն հաշվապահը՝ պատճառը նշելով։",
        "После закрытия ничего в датах этого периода изменить нельзя: поздние возвраты и платежи проводятся корректировками в следующем открытом периоде. Открыть его снова может только бухгалтер, указав причину.",
    ),
    (
        "%(n)s blocking case is still open: the close will be refused.",
        "%(n)s blocking cases are still open: the close will be refused.",
    ): (
        [
            "%(n)s արգելափակող դեպք դեռ բաց է. փակումը կմերժվի։",
            "%(n)s արգելափակող դեպք դեռ բաց են. փակումը կմերժվի։",
        ],
        [
            "%(n)s блокирующий случай ещё открыт: в закрытии будет отказано.",
            "%(n)s блокирующих случая ещё открыты: в закрытии будет отказано.",
            "%(n)s блокирующих случаев ещё открыты: в закрытии будет отказано.",
        ],
    ),
    "Yes, close the period": ("Այո, փակել ժամանակաշրջանը", "Да, закрыть период"),
    "Cancel": ("Չեղարկել", "Отмена"),
    "Reopen this period": ("Վերաբացել այս ժամանակաշրջանը", "Открыть этот период снова"),
    "Why is it reopened?": ("Ինչո՞ւ է վերաբացվում", "Почему период открывается снова?"),
    "Kept in the audit trail with your name.": (
        "Պահվում է աուդիտի մատյանում՝ ձեր անունով։",
        "Сохраняется в журнале аудита с вашим именем.",
    ),
    "Reopen": ("Վերաբացել", "Открыть снова"),
    "%(name)s: every period with its money, its open cases and its last reconciliation. Open one to check it and close it.": (
        "%(name)s. բոլոր ժամանակաշրջանները՝ իրենց գումարներով, բաց դեպքերով և վերջին համադրմամբ։ Բացեք մեկը՝ ստուգելու և փակելու համար։",
        "%(name)s: все периоды с их деньгами, открытыми случаями и последней сверкой. Откройте период, чтобы проверить и закрыть его.",
    ),
    "Period": ("Ժամանակաշրջան", "Период"),
    "Currency": ("Արժույթ", "Валюта"),
    "Open cases": ("Բաց դեպքեր", "Открытые случаи"),
    "Last reconciliation": ("Վերջին համադրում", "Последняя сверка"),
    "No accounting period yet.": (
        "Հաշվապահական ժամանակաշրջան դեռ չկա։",
        "Учётных периодов пока нет.",
    ),
    "Open a period": ("Բացել ժամանակաշրջան", "Открыть период"),
    "Month": ("Ամիս", "Месяц"),
    "Open the month": ("Բացել ամիսը", "Открыть месяц"),
    "Open cases by kind": ("Բաց դեպքերն ըստ տեսակի", "Открытые случаи по видам"),
    "Kind": ("Տեսակ", "Вид"),
    "Blocks the close": ("Արգելափակում է փակումը", "Блокирует закрытие"),
    "Cases": ("Դեպքեր", "Случаи"),
    "yes": ("այո", "да"),
    "no": ("ոչ", "нет"),
    "No open case in these dates.": (
        "Այս ամսաթվերում բաց դեպք չկա։",
        "Открытых случаев в эти даты нет.",
    ),
    "Exception ageing": ("Դեպքերի տարիքը", "Возраст случаев"),
    "No open case.": ("Բաց դեպք չկա։", "Открытых случаев нет."),
    "By branch": ("Ըստ մասնաճյուղի", "По филиалам"),
    "Branch": ("Մասնաճյուղ", "Филиал"),
    "Payments": ("Վճարումներ", "Платежи"),
    "Verified": ("Հաստատված", "Подтверждено"),
    "Refunded": ("Վերադարձված", "Возвращено"),
    "Fees": ("Միջնորդավճարներ", "Комиссии"),
    "Paid out": ("Վճարված", "Выплачено"),
    "In flight": ("Ընթացքում", "В пути"),
    "Adjustments": ("Ճշգրտումներ", "Корректировки"),
    "Net": ("Զուտ", "Нетто"),
    "No payment verified in this period.": (
        "Այս ժամանակաշրջանում հաստատված վճարում չկա։",
        "В этом периоде подтверждённых платежей нет.",
    ),
    "By status": ("Ըստ կարգավիճակի", "По статусам"),
    "Payouts": ("Վճարումների փոխանցումներ", "Выплаты"),
    "Gross": ("Համախառն", "Брутто"),
    "Fee": ("Միջնորդավճար", "Комиссия"),
    "No payout in this period.": (
        "Այս ժամանակաշրջանում փոխանցում չկա։",
        "В этом периоде выплат нет.",
    ),
    "Payouts by status": ("Փոխանցումներն ըստ կարգավիճակի", "Выплаты по статусам"),
    "Payouts by status (count)": (
        "Փոխանցումներն ըստ կարգավիճակի (քանակ)",
        "Выплаты по статусам (количество)",
    ),
    "By recipient": ("Ըստ ստացողի", "По получателям"),
    "Recipient": ("Ստացող", "Получатель"),
    "QR payments": ("QR վճարումներ", "QR-платежи"),
    "Reconciliation runs": ("Համադրումներ", "Запуски сверки"),
    "Run": ("Գործարկում", "Запуск"),
    "Matched": ("Համադրված", "Сопоставлено"),
    "Problems": ("Խնդիրներ", "Проблемы"),
    "Cases raised": ("Բացված դեպքեր", "Заведено случаев"),
    "dry run": ("փորձնական", "пробный"),
    "No reconciliation run covers these dates yet (they run every night, after a provider report is imported).": (
        "Այս ամսաթվերի համար համադրում դեռ չի կատարվել (այն կատարվում է ամեն գիշեր՝ պրովայդերի հաշվետվությունը ներմուծելուց հետո)։",
        "Сверка за эти даты ещё не запускалась (она идёт каждую ночь после импорта отчёта провайдера).",
    ),
    ("%(n)s row", "%(n)s rows"): (
        ["%(n)s տող", "%(n)s տող"],
        ["%(n)s строка", "%(n)s строки", "%(n)s строк"],
    ),
    "No report covers these dates.": (
        "Այս ամսաթվերի համար հաշվետվություն չկա։",
        "Отчётов за эти даты нет.",
    ),
    "Bank statement matches": ("Բանկային քաղվածքի համադրում", "Сопоставление с выпиской"),
    "Debits in the statements": ("Քաղվածքների դեբետներ", "Списания в выписках"),
    "Matched to a payout": ("Համադրված փոխանցման հետ", "Сопоставлено с выплатой"),
    "Not explained": ("Չբացատրված", "Не объяснено"),
    "Debits no payout explains": (
        "Դեբետներ, որոնք ոչ մի փոխանցում չի բացատրում",
        "Списания, которые не объясняет ни одна выплата",
    ),
    "Adjustments booked in this period": (
        "Այս ժամանակաշրջանում գրանցված ճշգրտումներ",
        "Корректировки, проведённые в этом периоде",
    ),
    "Origin": ("Ծագում", "Исходная дата"),
    "Amount": ("Գումար", "Сумма"),
    "None.": ("Չկա։", "Нет."),
    "Open cases by age": ("Բաց դեպքերն ըստ տարիքի", "Открытые случаи по возрасту"),
    "Verified volume by day": ("Հաստատված ծավալն ըստ օրերի", "Подтверждённый объём по дням"),
    "Verified volume by month": (
        "Հաստատված ծավալն ըստ ամիսների",
        "Подтверждённый объём по месяцам",
    ),
    "Verified volume by year": ("Հաստատված ծավալն ըստ տարիների", "Подтверждённый объём по годам"),
    "You may not look at accounting periods.": (
        "Դուք չեք կարող դիտել հաշվապահական ժամանակաշրջանները։",
        "Вам нельзя просматривать учётные периоды.",
    ),
    "Only accountants close accounting periods.": (
        "Հաշվապահական ժամանակաշրջանները փակում են միայն հաշվապահները։",
        "Закрывать учётные периоды могут только бухгалтеры.",
    ),
    (
        "The period was not closed: %(n)s blocking case is still open. Resolve it below, then close again.",
        "The period was not closed: %(n)s blocking cases are still open. Resolve them below, then close again.",
    ): (
        [
            "Ժամանակաշրջանը չփակվեց. %(n)s արգելափակող դեպք դեռ բաց է։ Լուծեք այն ստորև, ապա նորից փակեք։",
            "Ժամանակաշրջանը չփակվեց. %(n)s արգելափակող դեպք դեռ բաց են։ Լուծեք դրանք ստորև, ապա նորից փակեք։",
        ],
        [
            "Период не закрыт: %(n)s блокирующий случай ещё открыт. Решите его ниже и закройте снова.",
            "Период не закрыт: %(n)s блокирующих случая ещё открыты. Решите их ниже и закройте снова.",
            "Период не закрыт: %(n)s блокирующих случаев ещё открыты. Решите их ниже и закройте снова.",
        ],
    ),
    "Period %(period)s is closed.": (
        "%(period)s ժամանակաշրջանը փակված է։",
        "Период %(period)s закрыт.",
    ),
    "The period was not closed: it has not ended yet. It ends on %(end)s; close it from %(day)s.": (
        "Ժամանակաշրջանը չփակվեց. այն դեռ չի ավարտվել։ Այն ավարտվում է %(end)s-ին. փակեք այն %(day)s-ից։",
        "Период не закрыт: он ещё не закончился. Он заканчивается %(end)s; закройте его с %(day)s.",
    ),
    "This period has not ended yet": (
        "Այս ժամանակաշրջանը դեռ չի ավարտվել",
        "Этот период ещё не закончился",
    ),
    "It ends on %(end)s; it can be closed from %(day)s.": (
        "Այն ավարտվում է %(end)s-ին. այն կարելի է փակել %(day)s-ից։",
        "Он заканчивается %(end)s; закрыть его можно с %(day)s.",
    ),
    "The period was not closed: it ends on %(end)s, the calendar's last day, so it can never be closed.": (
        "Ժամանակաշրջանը չփակվեց. այն ավարտվում է %(end)s-ին՝ օրացույցի վերջին օրը, ուստի այն երբեք չի կարող փակվել։",
        "Период не закрыт: он заканчивается %(end)s, в последний день календаря, поэтому его нельзя закрыть.",
    ),
    "It ends on %(end)s, the calendar's last day: it can never be closed.": (
        "Այն ավարտվում է %(end)s-ին՝ օրացույցի վերջին օրը. այն երբեք չի կարող փակվել։",
        "Он заканчивается %(end)s, в последний день календаря: его нельзя закрыть.",
    ),
    "This period has not ended yet: the close will be refused.": (
        "Այս ժամանակաշրջանը դեռ չի ավարտվել. փակումը կմերժվի։",
        "Этот период ещё не закончился: закрытие будет отклонено.",
    ),
    "This period has not ended yet: the close will be refused. It can be closed from %(day)s.": (
        "Այս ժամանակաշրջանը դեռ չի ավարտվել. փակումը կմերժվի։ Այն կարելի է փակել %(day)s-ից։",
        "Этот период ещё не закончился: закрытие будет отклонено. Закрыть его можно с %(day)s.",
    ),
    "Only accountants reopen accounting periods.": (
        "Հաշվապահական ժամանակաշրջանները վերաբացում են միայն հաշվապահները։",
        "Открывать учётные периоды снова могут только бухгалтеры.",
    ),
    "Period %(period)s is open again.": (
        "%(period)s ժամանակաշրջանը կրկին բաց է։",
        "Период %(period)s снова открыт.",
    ),
    "You may not resolve exception cases.": (
        "Դուք չեք կարող լուծել դեպքերը։",
        "Вам нельзя решать случаи.",
    ),
    "Case #%(id)s is resolved.": ("#%(id)s դեպքը լուծված է։", "Случай #%(id)s решён."),
    "You may not open accounting periods.": (
        "Դուք չեք կարող բացել հաշվապահական ժամանակաշրջաններ։",
        "Вам нельзя открывать учётные периоды.",
    ),
    "Choose a month.": ("Ընտրեք ամիսը։", "Выберите месяц."),
    "What is it?": ("Ի՞նչ ֆայլ է", "Что это за файл?"),
    "Provider report": ("Պրովայդերի հաշվետվություն", "Отчёт провайдера"),
    "Bank statement": ("Բանկային քաղվածք", "Банковская выписка"),
    "Provider (for a report)": ("Պրովայդեր (հաշվետվության համար)", "Провайдер (для отчёта)"),
    "File": ("Ֆայլ", "Файл"),
    "Choose the provider the report comes from.": (
        "Ընտրեք այն պրովայդերը, որից է հաշվետվությունը։",
        "Выберите провайдера, от которого пришёл отчёт.",
    ),
    "The file is larger than 200 MB.": ("Ֆայլը 200 ՄԲ-ից մեծ է։", "Файл больше 200 МБ."),
    "You may not import files.": (
        "Դուք չեք կարող ֆայլեր ներմուծել։",
        "Вам нельзя импортировать файлы.",
    ),
    "Decided on its subject, not with a note:": (
        "Որոշվում է իր առարկայի էջում, ոչ թե նշումով՝",
        "Решается на странице объекта, а не заметкой:",
    ),
    # Labels named in code (gettext_noop) or by other apps' choices.
    "Payments and refunds": ("Վճարումներ և վերադարձներ", "Платежи и возвраты"),
    "Exception cases": ("Բացառիկ դեպքեր", "Исключительные случаи"),
    "Reconciliation": ("Համադրում", "Сверка"),
    "Requested": ("Պահանջված", "Запрошена"),
    "Processing": ("Մշակվում է", "В обработке"),
    "Completed": ("Ավարտված", "Завершена"),
    "Cancelled": ("Չեղարկված", "Отменена"),
    "Reversed (corrected)": ("Հետարկված (ուղղված)", "Сторнирована (исправлена)"),
    "< 1 day": ("< 1 օր", "< 1 дня"),
    "1-3 days": ("1-3 օր", "1-3 дня"),
    "3-7 days": ("3-7 օր", "3-7 дней"),
    "7-30 days": ("7-30 օր", "7-30 дней"),
    "> 30 days": ("> 30 օր", "> 30 дней"),
    "Uploading…": ("Վերբեռնում…", "Загрузка…"),
    "Not imported": ("Չներմուծվեց", "Не импортировано"),
    "Line %(line)s: %(problem)s": ("Տող %(line)s՝ %(problem)s", "Строка %(line)s: %(problem)s"),
    "The import stopped on an unexpected error; nothing was written.": (
        "Ներմուծումը կանգ առավ անսպասելի սխալի պատճառով․ ոչինչ չի գրանցվել։",
        "Импорт остановился из-за непредвиденной ошибки; ничего не записано.",
    ),
    "Queued: waiting for a worker…": (
        "Հերթում է՝ սպասում է մշակողին…",
        "В очереди: ждёт обработчика…",
    ),
    "Importing…": ("Ներմուծվում է…", "Импортируется…"),
    "Import progress": ("Ներմուծման ընթացքը", "Ход импорта"),
    "No QR payment or payout of a recipient in this period.": (
        "Այս ժամանակաշրջանում ստացողի QR վճարում կամ վճարում չկա։",
        "В этом периоде нет QR-платежей и выплат получателям.",
    ),
    # Severities of exception cases (the exception queue's labels) and report statuses.
    "Low": ("Ցածր", "Низкая"),
    "Medium": ("Միջին", "Средняя"),
    "High": ("Բարձր", "Высокая"),
    "Critical": ("Կրիտիկական", "Критическая"),
    # Sections the domains register (billing/desk.py, appointments/desk.py and their templates).
    "Subscriptions": ("Բաժանորդագրություններ", "Подписки"),
    "Appointment payments": ("Այցելությունների վճարումներ", "Оплаты записей"),
    "Scheduled": ("Պլանավորված", "Запланирован"),
    "Invoiced": ("Հաշիվը ներկայացված է", "Выставлен счёт"),
    "Payment pending": ("Վճարումը սպասվում է", "Ожидает оплаты"),
    "Paid": ("Վճարված", "Оплачено"),
    "Retrying": ("Կրկնվում է", "Повторная попытка"),
    "Manual review": ("Ձեռքով ստուգում", "Ручная проверка"),
    "Waived": ("Զիջված", "Списан"),
    "Collection rate by plan": ("Գանձման մակարդակը՝ ըստ պլանի", "Доля собранного по тарифам"),
    "Billing periods due in these dates: what was expected, what was collected for them, and what still waits.": (
        "Այս ամսաթվերին վճարման ենթակա ժամանակաշրջանները՝ ինչ էր սպասվում, ինչ է գանձվել և ինչ է դեռ սպասում։",
        "Периоды подписок со сроком оплаты в эти даты: сколько ожидалось, сколько собрано и что ещё ждёт.",
    ),
    "By plan": ("Ըստ պլանի", "По тарифам"),
    "Plan": ("Պլան", "Тариф"),
    "Expected": ("Սպասվող", "Ожидалось"),
    "Outstanding": ("Չվճարված", "Не оплачено"),
    "Total": ("Ընդամենը", "Итого"),
    "Collection rate of subscriptions": (
        "Բաժանորդագրությունների գանձման մակարդակը",
        "Доля собранного по подпискам",
    ),
    "Periods in manual review": ("Ձեռքով ստուգման ժամանակաշրջաններ", "Периоды на ручной проверке"),
    "Customer": ("Հաճախորդ", "Клиент"),
    "Due": ("Վճարման օր", "Срок"),
    "Action": ("Գործողություն", "Действие"),
    "decide in the admin": ("որոշել ադմինում", "решить в админке"),
    "%(n)s in all; the admin's review queue lists every one.": (
        "Ընդամենը՝ %(n)s, ադմինի ստուգման հերթում բոլորն են։",
        "Всего %(n)s; все они — в очереди проверки в админке.",
    ),
    "No period of these dates waits for a decision.": (
        "Այս ամսաթվերի ոչ մի ժամանակաշրջան որոշման չի սպասում։",
        "Ни один период этих дат не ждёт решения.",
    ),
    "Payment requests paid in these dates, counted apart by what became of the visit.": (
        "Այս ամսաթվերին վճարված հարցումները՝ առանձին ըստ այցի ելքի։",
        "Запросы оплаты, оплаченные в эти даты, отдельно по исходу визита.",
    ),
    "By visit": ("Ըստ այցի", "По визитам"),
    "Visit": ("Այց", "Визит"),
    "Kept": ("Պահված", "Удержано"),
    "By request status": ("Ըստ հարցման կարգավիճակի", "По статусу запроса"),
    "Visit took place": ("Այցը կայացել է", "Визит состоялся"),
    "Visit ahead": ("Այցը դեռ առջևում է", "Визит впереди"),
    "No-show": ("Չներկայացում", "Неявка"),
    "Partially refunded": ("Մասնակի վերադարձված", "Частично возвращено"),
    "Forfeited": ("Պահված կլինիկայի կողմից", "Удержано клиникой"),
}
T.update(DOMAIN_TEXTS)  # the domains' texts (``domain_texts``), one catalogue

HEADERS = {
    "hy": "Plural-Forms: nplurals=2; plural=(n != 1);",
    "ru": "Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && "
    "n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def catalogue(language: str) -> dict[str, str]:
    """msgid (plural: "singular\\0plural") -> msgstr (plural forms joined by NUL)."""
    index = 0 if language == "hy" else 1
    out = {}
    for key, values in T.items():
        value = values[index]
        if isinstance(key, tuple):
            out["\0".join(key)] = "\0".join(value)
        else:
            out[key] = value
    return out


def write_po(language: str) -> None:
    index = 0 if language == "hy" else 1
    lines = [
        "# payops accountants' desk. Generated by desk/locale/translations.py: edit there.",
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {language}\\n"',
        f'"{HEADERS[language]}\\n"',
        "",
    ]
    for key, values in T.items():
        value = values[index]
        if isinstance(key, tuple):
            lines += [f"msgid {_q(key[0])}", f"msgid_plural {_q(key[1])}"]
            lines += [f"msgstr[{i}] {_q(form)}" for i, form in enumerate(value)]
        else:
            lines += [f"msgid {_q(key)}", f"msgstr {_q(value)}"]
        lines.append("")
    folder = HERE / language / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "django.po").write_text("\n".join(lines), encoding="utf-8")


def write_mo(language: str) -> None:
    """GNU .mo, as msgfmt writes it (no hash table)."""
    entries = {
        "": f"Content-Type: text/plain; charset=UTF-8\nLanguage: {language}\n{HEADERS[language]}\n"
    }
    entries.update(catalogue(language))
    keys = sorted(entries)
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n
    offsets, data = [], b""
    for chunk in ids:
        offsets.append((len(chunk), start + len(data)))
        data += chunk + b"\0"
    for chunk in strs:
        offsets.append((len(chunk), start + len(data)))
        data += chunk + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    table = b"".join(struct.pack("<2I", *o) for o in offsets)
    (HERE / language / "LC_MESSAGES" / "django.mo").write_bytes(header + table + data)


def used_msgids(source: str) -> set[str]:
    """Every literal handed to gettext in a Python module (for the locale test)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") in {"_", "gettext", "gettext_noop", "gettext_lazy"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
    return found


if __name__ == "__main__":
    for lang in HEADERS:
        write_po(lang)
        write_mo(lang)
        print(f"wrote desk/locale/{lang}/LC_MESSAGES/django.po and django.mo")
